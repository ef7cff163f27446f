// bench/node-bench.js - the official SendPulse Node.js client (npm package
// `sendpulse-api`) in `make bench`. Prints "key value" lines on stdout.
//
//   node bench/node-bench.js MODULE_DIR BASE_URL TOKEN_DIR WARMUP
//
// After the warm-up (token, connection, WARMUP calls) it prints "ready" and
// serves commands on stdin, one a line, answered by "key value" lines and
// "end": "run SECONDS" (50 untimed calls, then sequential calls for
// SECONDS), "info", "quit".
//
// sendpulse-api 1.1.x has no base-URL option: api/sendpulse.js calls
// https.request({hostname: 'api.sendpulse.com', port: 443, path, method,
// headers}) for every request. So https.request is wrapped here, before the
// module is loaded, to send everything to BASE_URL (the bench's loopback
// server); any other target is refused, so nothing leaves the machine. The
// bench CA comes in through NODE_EXTRA_CA_CERTS (set by bench/run).
//
// The client has no user_info method; its generic exported
// sendRequest(path, method, data, callback) does GET /user/info (with
// data {} it also sends a "{}" body and Content-Type: application/json, as
// every one of its GETs does). Calls are sequential: each one is awaited
// before the next. The module keeps one token per process and caches it in
// a file under TOKEN_DIR (bench/run gives a fresh build/bench/ directory).
'use strict';

const https = require('https');
const http = require('http');
const path = require('path');
const readline = require('readline');

const [moduleDir, baseUrl, tokenDir, warmupArg] = process.argv.slice(2);
if (!moduleDir || !baseUrl || !tokenDir) {
    console.error('usage: node-bench.js MODULE_DIR BASE_URL TOKEN_DIR WARMUP');
    process.exit(2);
}
const warmup = Number(warmupArg || 200);
const target = new URL(baseUrl);
if (target.protocol !== 'https:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    console.error('node-bench.js: BASE_URL must be https on loopback, got ' + baseUrl);
    process.exit(2);
}
const targetHost = target.hostname.replace(/^\[|\]$/g, '');
const targetPort = Number(target.port || 443);

function die(msg) {
    console.error('node-bench.js: ' + msg);
    process.exit(1);
}

let rewritten = 0;
const sockets = new Set();   // distinct TLS connections used
const realRequest = https.request;
https.request = function (options, callback) {
    if (typeof options !== 'object' || options === null || options instanceof URL ||
        options.hostname !== 'api.sendpulse.com') {
        die('unexpected https.request target: ' + JSON.stringify(options));
    }
    const opts = Object.assign({}, options, { hostname: targetHost, host: targetHost, port: targetPort });
    rewritten++;
    const req = realRequest.call(https, opts, callback);
    req.on('socket', (s) => sockets.add(s));
    return req;
};
https.get = function () { die('unexpected https.get'); };
http.request = function () { die('unexpected http.request'); };
http.get = function () { die('unexpected http.get'); };

const sendpulse = require(path.resolve(moduleDir));
const version = require(path.join(path.resolve(moduleDir), 'package.json')).version;

function init() {
    return new Promise((resolve) => {
        sendpulse.init('sandbox-client-id', 'sandbox-client-secret', tokenDir, resolve);
    });
}

function userInfo() {
    return new Promise((resolve) => {
        sendpulse.sendRequest('user/info', 'GET', {}, resolve);
    });
}

function monotime() {
    return Number(process.hrtime.bigint()) / 1e9;
}

function out(k, v) {
    process.stdout.write(k + ' ' + v + '\n');
}

async function run(seconds) {
    for (let i = 0; i < 50; i++) await userInfo();
    let n = 0, failed = 0;
    const c0 = process.cpuUsage();
    const t0 = monotime();
    let t1;
    do {
        const me = await userInfo();
        if (!me || me.is_error) failed++;
        n++;
        t1 = monotime();
    } while (t1 - t0 < seconds);
    const c = process.cpuUsage(c0);
    if (failed > 0) die(failed + ' calls failed');
    out('calls', n);
    out('seconds', (t1 - t0).toFixed(6));
    out('rate', (n / (t1 - t0)).toFixed(1));
    out('cpu', ((c.user + c.system) / 1e6).toFixed(4));
}

async function main() {
    const token = await init();
    if (typeof token !== 'string' || token.length === 0) {
        die('init did not get a token: ' + JSON.stringify(token));
    }
    for (let i = 0; i < warmup; i++) {
        const me = await userInfo();
        if (!me || me.is_error || typeof me.email !== 'string') {
            die('user/info failed: ' + JSON.stringify(me));
        }
    }
    // a request the server logs with its protocol (see bench/run)
    await new Promise((resolve) => sendpulse.sendRequest('__bench/probe?who=node', 'GET', {}, resolve));
    out('ready', '');
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
        const m = /^(\w+)\s*([\d.]*)/.exec(line) || [];
        if (m[1] === 'run') {
            await run(Number(m[2]));
        } else if (m[1] === 'info') {
            out('requests_sent', rewritten);
            out('connections', sockets.size);
            out('keepalive', https.globalAgent.keepAlive ? 'yes' : 'no');
            out('sendpulse_api', version);
            out('node', process.version);
        } else if (m[1] === 'quit') {
            break;
        } else {
            out('error', 'unknown command');
        }
        out('end', '');
    }
    rl.close();
    // keep-alive sockets would hold the process open
    https.globalAgent.destroy();
    process.exit(0);
}
main().catch((e) => die(e && e.stack || String(e)));
