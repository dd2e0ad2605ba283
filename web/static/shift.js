// The shift handover page: the report is fetched with the wall's token (a navigation cannot carry it) and
// then takes the whole document's place, so that it prints as it would from a file.
import { api, takeTokenFromUrl } from "./session.js";

const status = document.getElementById("shift-status");

async function show() {
  takeTokenFromUrl();
  const params = new URLSearchParams(location.search);
  if (!params.has("lang")) params.set("lang", localStorage.getItem("ioc.lang") === "en" ? "en" : "vi");
  let r;
  try {
    r = await api(`/api/history/shift.html?${params}`);
  } catch (e) {
    status.textContent = `Không kết nối được máy chủ / The server cannot be reached: ${e}`;
    return;
  }
  if (r.status === 401 || r.status === 403) {
    status.textContent = "Cần đăng nhập bằng mã truy cập / Sign in with an access token";
    askToken();
    return;
  }
  if (!r.ok) {
    let detail = "";
    try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
    status.textContent = `HTTP ${r.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
    return;
  }
  const report = new DOMParser().parseFromString(await r.text(), "text/html");
  document.replaceChild(document.adoptNode(report.documentElement), document.documentElement);
}

function askToken() {
  const form = document.getElementById("shift-login");
  form.hidden = false;
  form.onsubmit = (e) => {
    e.preventDefault();
    localStorage.setItem("ioc.token", document.getElementById("shift-token").value.trim());
    location.reload();
  };
}

show();
