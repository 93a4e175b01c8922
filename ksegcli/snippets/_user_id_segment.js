// User id = Segment's user id, else its anonymous id. Segment's stub (analytics.js still
// loading) has no user(): return nothing until the real library is there.
var analytics = window.analytics;
var segmentUser = analytics && typeof analytics.user === "function" ? analytics.user() : null;
if (!segmentUser) return;
var userId =
  (typeof segmentUser.id === "function" && segmentUser.id()) ||
  (typeof segmentUser.anonymousId === "function" && segmentUser.anonymousId());
if (!userId) return;
