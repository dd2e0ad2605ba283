// Sign-in and the REST API: a ?token=... link is taken once (then kept in this browser), or the sign-in box;
// every call carries the token as a bearer header.

export function takeTokenFromUrl() {
  const params = new URLSearchParams(location.search);
  if (!params.has("token")) return;
  localStorage.setItem("ioc.token", params.get("token"));
  params.delete("token");
  history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
}

export function token() { return localStorage.getItem("ioc.token") || ""; }

export function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" };
  return fetch(path, { ...options, headers: { ...headers, ...(options.headers || {}) } });
}

// The JSON of a GET, retried while the server restarts; { refused: status } when the token is not enough.
export async function fetchJson(path) {
  for (;;) {
    try {
      const r = await api(path);
      if (r.status === 401 || r.status === 403) return { refused: r.status };
      if (r.ok) return await r.json();
    } catch (e) { /* server restarting */ }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

export function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("login-form").onsubmit = (e) => {
    e.preventDefault();
    localStorage.setItem("ioc.token", document.getElementById("login-token").value.trim());
    location.reload();
  };
}

// A refused request in words: "Not allowed: ..." for 403, else the status, with the server's detail.
export async function refusalText(r, forbidden) {
  let detail = "";
  try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  return `${r.status === 403 ? forbidden : "HTTP " + r.status}: ${text}`;
}
