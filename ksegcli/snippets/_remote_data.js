// One fetch per remote key per page, shared by every ksegcli snippet (personas, each trait,
// group). Keyed by the full key, user id included, so a new user id fetches anew.
var remoteData = (window.ksegcliRemoteData = window.ksegcliRemoteData || {});
var key = {{key_prefix}} + userId;
var entry = remoteData[key];
if (!entry) {
  entry = remoteData[key] = {"done": false, "data": null};
  Kameleoon.API.Data.retrieveDataFromRemoteSource(key, function (result) {
    // Some answers arrive as JSON text (e.g. "{}") rather than parsed.
    if (typeof result === "string") {
      try {
        result = JSON.parse(result);
      } catch (e) {
        result = null;
      }
    }
    entry.data = result && typeof result === "object" ? result : null;
    entry.done = true;
  });
}
// Nothing yet: Kameleoon evaluates this code again later.
if (!entry.done) return;
var data = entry.data;
