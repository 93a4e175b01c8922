// User id = the Kameleoon visitor code (linked to Segment by the identifier snippet).
var userId = Kameleoon.API.Visitor.code;
if (!userId) return;
