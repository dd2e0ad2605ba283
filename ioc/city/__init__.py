"""The city model of Vinh, Cửa Lò and Hoàng Mai: wards, roads, hospitals and sensors from data files."""

from ioc.city.model import AREA_CODES, Area, City, Hospital, Junction, Road, Sensor, Ward, load_city

__all__ = ["AREA_CODES", "Area", "City", "Hospital", "Junction", "Road", "Sensor", "Ward", "load_city"]
