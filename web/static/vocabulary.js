// The output documents' vocabulary (ioc/contract/documents.py, served by /api/vocabulary): severities, alert
// statuses and the actions each allows, flood and map states. Loaded once at start-up, so the page repeats
// none of the lists; its colour and label tables are checked against it.
import { fetchJson } from "./session.js";

export const vocabulary = {};

// False when the token was refused meanwhile (revoked between /api/me and here): the page asks to sign in.
export async function loadVocabulary() {
  const got = await fetchJson("/api/vocabulary");
  if (got.refused) return false;
  Object.assign(vocabulary, got);
  return true;
}

// Higher is more severe (the kernel lists severities mildest first).
export function rank(severity) { return vocabulary.severities.indexOf(severity); }

export function mostSevere() { return vocabulary.severities[vocabulary.severities.length - 1]; }

// Active alerts are on the wall; the others (cleared, resolved) leave it.
export function isActive(status) { return vocabulary.activeStatuses.includes(status); }

// Whether an operator may take `action` on an alert in `status` (the lifecycle the worker enforces).
export function allows(action, status) { return (vocabulary.allowed[action] || []).includes(status); }

// A flood KPI's value is the worst alert level: 0 normal, 1-3 báo động 1-3.
export function floodStatus(level) { return vocabulary.floodStatuses[level]; }

// What a table keyed by vocabulary names lacks, or has that the vocabulary does not: ["name.key", ...].
export function mismatches(name, table, names) {
  const keys = Object.keys(table || {});
  return [...names.filter((n) => !keys.includes(n)), ...keys.filter((k) => !names.includes(k))]
    .map((k) => `${name}.${k}`);
}
