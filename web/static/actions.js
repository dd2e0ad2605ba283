// Operator actions on an alert (POST /api/alerts/{id}/{action}): 202 means written to Kafka, and the new
// status comes back on the feed; until then the alert is pending. A refusal (403, 409) is shown as a toast.
import { toast } from "./dom.js";
import { t } from "./i18n.js";
import { api, refusalText } from "./session.js";

export const Actions = {
  pending: new Set(), // alert ids with an action sent, waiting for the feed to bring the new status
  changed: () => {}, // the panel redraws (set by alerts.js)

  // The HTTP status of the request (0 when the server could not be reached).
  async send(id, action, body = {}) {
    this.pending.add(id);
    this.changed();
    let r = null;
    try {
      r = await api(`/api/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body: JSON.stringify(body) });
    } catch (e) { /* the server is restarting */ }
    if (!r || r.status !== 202) {
      this.pending.delete(id);
      toast(r ? await refusalText(r, t("forbidden")) : t("connLost"));
      this.changed();
    }
    return r ? r.status : 0;
  },

  // The feed brought the alert's new state.
  arrived(id) { this.pending.delete(id); },
};
