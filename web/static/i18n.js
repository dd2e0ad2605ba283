// Labels of the wall in Vietnamese (default) and English; t(key) reads the current language.

export const I18N = {
  vi: {
    title: "Trung tâm điều hành thông minh Nghệ An",
    simClock: "Giờ mô phỏng (ICT)",
    alerts: "Cảnh báo",
    criticalAlert: "CẢNH BÁO KHẨN CẤP",
    acknowledge: "Xác nhận",
    assign: "Giao việc",
    assignee: "người / đội nhận việc",
    send: "Gửi",
    close: "Đóng",
    enterToken: "Nhập mã truy cập",
    signIn: "Đăng nhập",
    badToken: "Mã không hợp lệ",
    connOpen: "trực tuyến",
    connLost: "mất kết nối, đang thử lại",
    replayJob: "phiên phát lại",
    replayPause: "Tạm dừng",
    replay: { paused: "TẠM DỪNG", finished: "KẾT THÚC" },
    replayResume: "▶ Tiếp tục",
    replaySeek: "Tua đến",
    replayAt: "Giờ mô phỏng để tua đến (ICT)",
    connecting: "đang kết nối",
    airQuality: "Chất lượng không khí (VN_AQI giờ, tạm tính)",
    weather: "Thời tiết",
    water: "Mực nước",
    worst: "cao nhất",
    noData: "chưa đủ dữ liệu",
    dominant: "chất chính",
    updated: "cập nhật",
    humidity: "ẩm",
    wind: "gió",
    rain: "mưa",
    lastHour: "1 giờ qua",
    aqiLegend: "Thang màu VN_AQI (QĐ 1459/QĐ-TCMT):",
    role: { viewer: "Người xem", operator: "Điều hành viên", engineer: "Kỹ sư" },
    kpi: {
      traffic: "Giao thông: làn ùn tắc",
      air: "Không khí: VN_AQI cao nhất",
      flood: "Ngập: mức báo động",
      lighting: "Chiếu sáng: sai lịch",
      health: "Y tế: chờ khám p90",
    },
    kpiShort: { traffic: "Giao thông", air: "Không khí", flood: "Ngập", lighting: "Chiếu sáng", health: "Y tế" },
    soundOn: "Âm báo: bật",
    soundOff: "Âm báo: tắt",
    standing: { veryGood: "rất tốt", good: "tốt", fair: "trung bình", bad: "kém", veryBad: "rất kém" },
    severity: { informational: "thông tin", low: "thấp", medium: "trung bình", high: "cao", critical: "khẩn cấp" },
    status: { raised: "mới", acknowledged: "đã xác nhận", assigned: "đã giao", cleared: "đã hết", resolved: "đã xử lý" },
    rule: {
      "flood-level": "Ngập vượt mức báo động",
      "flood-rising": "Nước dâng nhanh",
      "air-quality": "Không khí kém",
      "traffic-jam": "Ùn tắc kéo dài",
      "traffic-anomaly": "Tốc độ giảm bất thường",
      "cabinet-offline": "Tủ điện chiếu sáng mất kết nối",
      "hospital-waits": "Thời gian chờ khám quá dài",
    },
    flood: { normal: "bình thường", alert1: "BĐ1", alert2: "BĐ2", alert3: "BĐ3" },
    forbidden: "Không có quyền",
    health: {
      red: "DỮ LIỆU KHÔNG CẬP NHẬT",
      no_worker: "Không có tin từ bộ xử lý dữ liệu từ {since}: số liệu trên màn hình có thể đã cũ.",
      worker_stuck: "Bộ xử lý dừng ở {partition} từ {since} trong khi dữ liệu mới đang chờ.",
      worker_behind: "Bộ xử lý không theo kịp dữ liệu ở {partition} từ {since} ({lag} bản ghi đang chờ): số liệu hiển thị bị chậm.",
      feed_down: "Mất kết nối tới máy chủ dữ liệu (Kafka) từ {since}.",
      lost: "Lúc {at}, máy chủ dữ liệu (Kafka) khởi động lại và mất toàn bộ dữ liệu đang lưu: cảnh báo, số liệu và xu hướng đến {last} không còn. Màn hình chỉ hiển thị dữ liệu đến sau đó.",
    },
  },
  en: {
    title: "Nghệ An Intelligent Operations Centre",
    simClock: "Simulated time (ICT)",
    alerts: "Alerts",
    criticalAlert: "CRITICAL ALERT",
    acknowledge: "Acknowledge",
    assign: "Assign",
    assignee: "person / team",
    send: "Send",
    close: "Close",
    enterToken: "Enter your access token",
    signIn: "Sign in",
    badToken: "Invalid token",
    connOpen: "online",
    connLost: "connection lost, retrying",
    replayJob: "replay job",
    replayPause: "Pause",
    replay: { paused: "PAUSED", finished: "ENDED" },
    replayResume: "▶ Resume",
    replaySeek: "Seek",
    replayAt: "Simulated time to seek to (ICT)",
    connecting: "connecting",
    airQuality: "Air quality (hourly VN_AQI, provisional)",
    weather: "Weather",
    water: "Water level",
    worst: "worst",
    noData: "not enough data",
    dominant: "dominant",
    updated: "updated",
    humidity: "humidity",
    wind: "wind",
    rain: "rain",
    lastHour: "last hour",
    aqiLegend: "VN_AQI colour bands (Decision 1459/QĐ-TCMT):",
    role: { viewer: "Viewer", operator: "Operator", engineer: "Engineer" },
    kpi: {
      traffic: "Traffic: congested lanes",
      air: "Air: worst VN_AQI",
      flood: "Flood: alert level",
      lighting: "Lighting: off schedule",
      health: "Health: p90 wait",
    },
    kpiShort: { traffic: "Traffic", air: "Air", flood: "Flood", lighting: "Lighting", health: "Health" },
    soundOn: "Sound: on",
    soundOff: "Sound: off",
    standing: { veryGood: "very good", good: "good", fair: "fair", bad: "bad", veryBad: "very bad" },
    severity: { informational: "info", low: "low", medium: "medium", high: "high", critical: "critical" },
    status: { raised: "new", acknowledged: "acknowledged", assigned: "assigned", cleared: "cleared", resolved: "resolved" },
    rule: {
      "flood-level": "Flood above alert level",
      "flood-rising": "Water rising fast",
      "air-quality": "Poor air quality",
      "traffic-jam": "Lasting traffic jam",
      "traffic-anomaly": "Abnormal speed drop",
      "cabinet-offline": "Lighting cabinet offline",
      "hospital-waits": "Clinic waits too long",
    },
    flood: { normal: "normal", alert1: "AL1", alert2: "AL2", alert3: "AL3" },
    forbidden: "Not allowed",
    health: {
      red: "DATA NOT CURRENT",
      no_worker: "No news from the data processors since {since}: the figures shown may be stale.",
      worker_stuck: "A processor has been stuck on {partition} since {since} while new data waits.",
      worker_behind: "A processor has not kept up on {partition} since {since} ({lag} records waiting): the figures shown lag behind.",
      feed_down: "Lost the connection to the data broker (Kafka) since {since}.",
      lost: "At {at} the data broker (Kafka) restarted and lost everything it held: alerts, readings and trends up to {last} are gone. The wall shows only what has arrived since.",
    },
  },
};

export let LANG = localStorage.getItem("ioc.lang") === "en" ? "en" : "vi";

export function t(key) {
  const path = key.split(".");
  let node = I18N[LANG];
  for (const p of path) node = node == null ? undefined : node[p];
  return node == null ? key : node;
}

// t() with {name} placeholders filled in (as text: the caller puts the result into textContent).
export function tf(key, values) {
  return String(t(key)).replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}

export function applyStaticLabels() {
  document.documentElement.lang = LANG;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  document.getElementById("lang").textContent = LANG === "vi" ? "EN" : "VI";
}

export function setLang(lang) {
  LANG = lang;
  localStorage.setItem("ioc.lang", lang);
  applyStaticLabels();
}
