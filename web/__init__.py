"""The operations-centre wall: FastAPI websocket feed, REST API and the live page."""
