// ksegcli identifier snippet
// Kameleoon "Global custom script": tells Segment which Kameleoon visitor code belongs to the
// Segment user, so Kameleoon can file Segment's events, personas and traits under that visitor.
Kameleoon.API.Core.runWhenConditionTrue(
  function () {
    var analytics = window.analytics;
    // Segment's stub (analytics.js still loading) has no user(): wait for the real library.
    return !!(
      analytics &&
      typeof analytics.track === "function" &&
      typeof analytics.user === "function" &&
      Kameleoon.API.Visitor.code
    );
  },
  function () {
    var storageKey = "ksegcli_identifier";
    var user = window.analytics.user();
    var anonymousId = user && typeof user.anonymousId === "function" ? user.anonymousId() : null;
    if (!anonymousId) return;
    var visitorCode = Kameleoon.API.Visitor.code;
    // Send once per (anonymous id, visitor code) pair: again when either changes, else the new
    // visitor code would never be linked to the Segment user.
    var marker = anonymousId + "\n" + visitorCode;
    var sent;
    try {
      sent = window.localStorage.getItem(storageKey);
    } catch (e) {
      // Storage blocked (privacy mode, policy): fall back to once per page.
      sent = window.ksegcliIdentifierSent;
    }
    if (sent === marker) return;
    try {
      window.localStorage.setItem(storageKey, marker);
    } catch (e) {
      window.ksegcliIdentifierSent = marker;
    }
    window.analytics.track("Kameleoon identifier", {"k_visitorCode": visitorCode});
  }
);
