// Test harness for ksegcli's rendered snippets: a fake browser page (window, Kameleoon.API,
// Segment's analytics, localStorage, XMLHttpRequest) in a vm context, driven by a JSON batch on
// stdin, answering one JSON document on stdout. One node process runs a whole batch.
//
// Batch: {"mode": "check", "items": [{name, code, wrap}]}
//        {"mode": "scenarios", "scenarios": [{page, snippets, steps}]}
//        {"mode": "sdk", "items": [{name, code, userId, remote, result}]}
"use strict";

const vm = require("vm");

// How each kind of snippet is embedded: acquisition code is a function body, the global
// custom script runs as is, SDK code runs inside an async function.
function wrapCode(code, wrap) {
  if (wrap === "function") return "(function () {\n" + code + "\n});";
  if (wrap === "async") return "(async function () {\n" + code + "\n});";
  if (wrap === "script") return code;
  throw new Error("unknown wrap " + wrap);
}

function check(items) {
  return items.map((item) => {
    try {
      new vm.Script(wrapCode(item.code, item.wrap), { filename: item.name });
      return { name: item.name, ok: true };
    } catch (error) {
      return { name: item.name, ok: false, error: String(error) };
    }
  });
}

// A page: deterministic fake timers (a FIFO of tasks run by "tick" steps), so "asynchronous"
// really means "not before the next tick" and the tests never sleep.
function makePage(page) {
  const state = {
    queue: [],
    fetches: {},
    tracks: [],
    alerts: [],
    xhr: [],
    remote: page.remote || {},
    xhrResponses: page.xhr || {},
    storage: page.localStorage === "blocked" ? null : Object.assign({}, page.localStorage || {}),
    segment: null,
  };

  const setTimeout = (fn) => {
    state.queue.push(fn);
    return state.queue.length;
  };

  function makeAnalytics(spec) {
    if (spec === null || spec === undefined) return undefined;
    if (spec === "stub") {
      // Segment's snippet stub before analytics.js loads: an array of queued calls, no user().
      const stub = [];
      stub.track = function () {
        stub.push(["track"].concat(Array.prototype.slice.call(arguments)));
      };
      return stub;
    }
    state.segment = { userId: spec.userId || null, anonymousId: spec.anonymousId || null };
    return {
      track(event, properties) {
        state.tracks.push({ event: event, properties: JSON.parse(JSON.stringify(properties)) });
      },
      user() {
        return {
          id: () => state.segment.userId,
          anonymousId: () => state.segment.anonymousId,
        };
      },
    };
  }

  class XMLHttpRequest {
    open(method, url, async) {
      this.method = method;
      this.url = url;
      this.async = async;
      this.readyState = 1;
    }
    send() {
      // Synchronous, as the persona-values snippet asks (async === false).
      state.xhr.push({ method: this.method, url: this.url, async: this.async });
      const answer = state.xhrResponses[this.url] || { status: 404, body: "" };
      this.readyState = 4;
      this.status = answer.status;
      this.responseText = answer.body;
      this.response = answer.body;
      if (typeof this.onreadystatechange === "function") this.onreadystatechange();
    }
  }

  const localStorage = {
    getItem(key) {
      if (state.storage === null) throw new Error("SecurityError: storage blocked");
      return Object.prototype.hasOwnProperty.call(state.storage, key) ? state.storage[key] : null;
    },
    setItem(key, value) {
      if (state.storage === null) throw new Error("SecurityError: storage blocked");
      state.storage[key] = String(value);
    },
  };

  const Kameleoon = {
    API: {
      Visitor: { code: page.visitorCode === undefined ? "visitorcode01" : page.visitorCode },
      Data: {
        retrieveDataFromRemoteSource(key, callback) {
          state.fetches[key] = (state.fetches[key] || 0) + 1;
          const has = Object.prototype.hasOwnProperty.call(state.remote, key);
          // Answer on a later tick, like the network would; a copy, like a fresh JSON parse.
          const answer = has ? JSON.parse(JSON.stringify(state.remote[key])) : null;
          setTimeout(() => callback(answer));
        },
      },
      Core: {
        runWhenConditionTrue(condition, callback) {
          const poll = () => (condition() ? callback() : setTimeout(poll));
          poll();
        },
      },
    },
  };

  const sandbox = {
    Kameleoon: Kameleoon,
    XMLHttpRequest: XMLHttpRequest,
    localStorage: localStorage,
    setTimeout: setTimeout,
    JSON: JSON,
    alert: (message) => state.alerts.push(String(message)),
  };
  sandbox.analytics = makeAnalytics(page.analytics);
  const context = vm.createContext(sandbox);
  vm.runInContext("var window = globalThis;", context);

  return { state, context, makeAnalytics };
}

function describe(value) {
  return value === undefined ? { undefined: true } : { value: value };
}

function runScenario(scenario) {
  const page = makePage(scenario.page || {});
  const { state, context } = page;
  const compiled = {};
  const results = [];
  for (const [name, snippet] of Object.entries(scenario.snippets || {})) {
    // Function bodies become functions now; a global script only runs at its "script" step.
    if (snippet.wrap !== "script") {
      compiled[name] = vm.runInContext(wrapCode(snippet.code, snippet.wrap), context);
    }
  }
  for (const step of scenario.steps) {
    if (step.run !== undefined) {
      // Acquisition code: Kameleoon calls the function and reads its return value.
      results.push(describe(compiled[step.run]()));
    } else if (step.script !== undefined) {
      vm.runInContext(scenario.snippets[step.script].code, context);
      results.push({ ok: true });
    } else if (step.tick !== undefined) {
      for (let round = 0; round < step.tick; round += 1) {
        const tasks = state.queue.splice(0, state.queue.length);
        tasks.forEach((task) => task());
      }
      results.push({ ok: true });
    } else if (step.set !== undefined) {
      const change = step.set;
      if ("visitorCode" in change) context.Kameleoon.API.Visitor.code = change.visitorCode;
      if ("analytics" in change) context.analytics = page.makeAnalytics(change.analytics);
      if ("userId" in change) state.segment.userId = change.userId;
      if ("anonymousId" in change) state.segment.anonymousId = change.anonymousId;
      if ("remote" in change) Object.assign(state.remote, change.remote);
      results.push({ ok: true });
    } else if (step.state !== undefined) {
      // A snapshot: later steps go on changing the live objects.
      results.push(
        JSON.parse(
          JSON.stringify({
            fetches: state.fetches,
            tracks: state.tracks,
            alerts: state.alerts,
            xhr: state.xhr,
            localStorage: state.storage,
            pendingTasks: state.queue.length,
          })
        )
      );
    } else {
      throw new Error("unknown step " + JSON.stringify(step));
    }
  }
  return results;
}

async function runSdk(items) {
  const results = [];
  for (const item of items) {
    const calls = [];
    const kameleoonClient = {
      // The Node SDK's getRemoteData(key) resolves to the stored JSON, parsed.
      getRemoteData: async (key) => {
        calls.push(key);
        return Object.prototype.hasOwnProperty.call(item.remote, key) ? item.remote[key] : null;
      },
    };
    const fn = new Function(
      "kameleoonClient",
      "user_var_value",
      "return (async function () {\n" +
        "const " + item.userVar + " = user_var_value;\n" +
        item.code + "\nreturn " + item.result + ";\n})();"
    );
    try {
      const value = await fn(kameleoonClient, item.userId);
      results.push(Object.assign({ name: item.name, calls: calls }, describe(value)));
    } catch (error) {
      results.push({ name: item.name, error: String(error) });
    }
  }
  return results;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const batch = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  let output;
  if (batch.mode === "check") output = check(batch.items);
  else if (batch.mode === "scenarios") output = batch.scenarios.map(runScenario);
  else if (batch.mode === "sdk") output = await runSdk(batch.items);
  else throw new Error("unknown mode " + batch.mode);
  process.stdout.write(JSON.stringify(output));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
