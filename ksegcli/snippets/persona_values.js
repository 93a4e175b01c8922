// ksegcli persona-values snippet
// Kameleoon custom data, "Save the values for the targeting condition": the body of a function
// returning the persona names this project knows, as [{value, label}, ...].
var siteCode = {{sitecode}};
var url = {{url_expression}};
var personaValues = [];
var seen = {};
try {
  // Synchronous on purpose: Kameleoon reads the return value of this function directly.
  var xhr = new XMLHttpRequest();
  xhr.open("GET", url, false);
  xhr.send();
  if (xhr.status === 200) {
    var common = JSON.parse(xhr.responseText);
    var cohorts = common && common.cohorts;
    if (Object.prototype.toString.call(cohorts) === "[object Array]") {
      cohorts.forEach(function (persona) {
        if (typeof persona !== "string" || seen["$" + persona]) return;
        seen["$" + persona] = true;
        personaValues.push({"value": persona, "label": persona});
      });
    }
  }
} catch (e) {
  // Network or JSON failure: an empty list, rather than breaking the Kameleoon editor.
}
return personaValues;
