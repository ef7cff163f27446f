-- Contract tests against SendPulse's specs, with Stoplight Prism (a real
-- OpenAPI mock server, pinned, installed by tools/prism) serving the
-- repository's facts-only copy (api/openapi/*.json).
--
-- Every one of the 633 operations is called once through its named method
-- (client.crm:..., client:email_tags(), client:add_emails(), ...) with
-- arguments the spec accepts, and Prism must accept each request: no 4xx,
-- no violation in its log. The two multipart uploads go to a Prism of
-- their own (see contract.prism_uploads), the verifier's report download
-- comes back as bytes. The older areas' hand-written methods are also
-- held against the fields the spec declares (Prism lets undeclared query
-- parameters and body fields through). A second pass gives the generated
-- methods wrong arguments and checks that they raise before anything is
-- sent. Where the spec is wrong and the client keeps what the API accepts,
-- the case is in api/spec-defects.md and expected explicitly below.
local sendpulse = require "sendpulse"
local contract = require "support.contract"
local calls = require "support.contract_calls"
local services = require "sendpulse.services"
local index = require "sendpulse.api.index"

local OLD = { "email", "smtp", "sms", "viber", "push", "verifier", "automation" }

-- The specs' mistakes the client does not follow (api/spec-defects.md):
-- exactly these violations are expected from Prism, and exactly these
-- undeclared fields are sent.
local DEFECTS = {
  -- the spec types both bodies as a bare array; the API takes {emails = [...]}
  ["POST /smtp/unsubscribe"] = { violations = { "Request body must be array" } },
  ["DELETE /smtp/unsubscribe"] = { violations = { "Request body must be array" } },
  -- transliterate: documented, left out of the published schema
  ["POST /sms/campaigns"] = {
    undeclared = { "body.transliterate" },
    -- the API's dates are "YYYY-MM-DD HH:MM:SS", the spec says date-time
    violations_full = { 'Request body property date must match format "date-time"' },
  },
  ["POST /sms/send"] = { undeclared = { "body.transliterate" } },
  ["POST /push/tasks"] = {
    violations_full = { 'Request body property send_date must match format "date-time"' },
  },
  -- the double opt-in's fields, left out of the published schema
  ["POST /addressbooks/{id}/emails"] = {
    undeclared = { "body.sender_email", "body.message_lang", "body.template_id" },
  },
  -- limit/offset: sent as the Python client does, not in the spec
  ["GET /blacklist"] = { undeclared_query = { "limit", "offset" } },
}

local function key(verb, path)
  return verb .. " " .. path
end

local function same_set(a, b)
  local sa, sb = {}, {}
  for _, x in ipairs(a or {}) do
    sa[x] = true
  end
  for _, x in ipairs(b or {}) do
    sb[x] = true
  end
  for x in pairs(sa) do
    if not sb[x] then
      return false
    end
  end
  for x in pairs(sb) do
    if not sa[x] then
      return false
    end
  end
  return true
end

local function template_pattern(t)
  return "^" .. t:gsub("[%-%.%+%[%]%(%)%$%^%%%?%*]", "%%%0"):gsub("{[^}]+}", "[^/]+") .. "$"
end

describe("contract with SendPulse's specs #contract", function()
  local dirs = { all = "build/prism-contract-all", dup = "build/prism-contract-dup" }
  local url, dup_url, stop_all, stop_dup
  local client, dup_client
  local sent = {}      -- what the last call asked the core to send:
                       -- { verb, path, query, body, opts } each
  local log_at = { [dirs.all] = 0, [dirs.dup] = 0 }
  -- The spy sits where every request is made, in the C core's client
  -- methods (shared by all clients): client:request and the chunked
  -- methods' streams (sendpulse.bulk) both open their calls there.
  local core_methods, core_call

  local function spy(c)
    if core_methods then
      return
    end
    core_methods = debug.getmetatable(rawget(c, "_core")).__index
    core_call = core_methods.call
    core_methods.call = function(cc, verb, path, query, body, opts)
      sent[#sent + 1] = { verb, path, query, body, opts }
      return core_call(cc, verb, path, query, body, opts)
    end
  end

  setup(function()
    url, stop_all = contract.prism(dirs.all, {
      "email", "smtp", "sms", "viber", "push", "verifier", "automation", "crm",
      "chatbots", "messenger", "instagram", "telegram", "whatsapp", "viber_bots",
      "tiktok", "live_chat", "popups", "courses", "files" })
    -- the two operations that are in two files, as the second file has them
    dup_url, stop_dup = contract.prism(dirs.dup, { "sms", "smtp" })
    client = sendpulse.new{ api_key = "contract-key", base_url = url, rate_limit = false,
                            max_retries = 0 }
    dup_client = sendpulse.new{ api_key = "contract-key", base_url = dup_url,
                                rate_limit = false, max_retries = 0 }
    spy(client)
    spy(dup_client)
  end)

  teardown(function()
    if core_methods then
      core_methods.call = core_call
    end
    if client then
      client:close()
      dup_client:close()
    end
    if stop_all then
      stop_all()
    end
    if stop_dup then
      stop_dup()
    end
  end)

  -- Calls fn; returns the outcome: { ok, err, violations, sent }.
  local function call(dir, fn)
    sent = {}
    local _, at = contract.violations(dir, log_at[dir])
    log_at[dir] = at
    local ok, res, err = pcall(fn)
    local violations
    violations, log_at[dir] = contract.violations(dir, log_at[dir])
    return { raised = not ok and res or nil, res = ok and res or nil, err = err,
             violations = violations, sent = sent }
  end

  -- "accepted": a 2xx (a body Prism sends that is not JSON is fine: the
  -- spec gave it no JSON content) and no request violation logged
  local function accepted(o)
    if o.raised then
      return false, "raised: " .. tostring(o.raised)
    end
    if o.res == nil then
      local e = o.err
      if not (e and e.status and e.status >= 200 and e.status < 300) then
        return false, tostring(e) .. " " .. tostring(e and e.body):sub(1, 300)
      end
    end
    if #o.violations > 0 then
      return false, table.concat(o.violations, "; ")
    end
    return true
  end

  it("names every one of the 633 operations", function()
    local all, named = {}, {}
    for _, svc in ipairs(contract.SERVICES) do
      for _, row in pairs(services.table(svc).ops) do
        all[key(row[1], row[2])] = true
      end
    end
    for _, svc in ipairs(services.names()) do
      for _, op in ipairs(services.operations(svc)) do
        named[key(op.verb, op.path)] = "client." .. svc .. ":" .. op.name
      end
    end
    for name, e in pairs(index.flat) do
      local row = services.table(e[1]).ops[e[2]]
      if not e.each then
        named[key(row[1], row[2])] = "client:" .. name
      end
    end
    for _, c in ipairs(calls) do
      named[key(c[1], c[2])] = named[key(c[1], c[2])] or "hand-written"
    end
    local n_all, missing = 0, {}
    for k in pairs(all) do
      n_all = n_all + 1
      if not named[k] then
        missing[#missing + 1] = k
      end
    end
    table.sort(missing)
    assert.equal(633, n_all)
    assert.same({}, missing)
    for k in pairs(named) do
      assert.is_true(all[k] ~= nil, k .. " is named but not in the specs")
    end
  end)

  it("Prism accepts the request of every generated method", function()
    local failures, checked, examples_invalid = {}, 0, {}
    local function run(label, fn, make_args, verb, path)
      local args = make_args(false)
      -- an example of the spec that its own schema rejects: built from the
      -- schema instead (listed in api/spec-defects.md)
      local probe = call(dirs.all, function()
        local real = rawget(client, "request")
        rawset(client, "request", function() return true end)
        local ok, e = pcall(fn, args)
        rawset(client, "request", real)
        if not ok then
          error(e, 0)
        end
      end)
      if probe.raised then
        examples_invalid[#examples_invalid + 1] = label .. ": " .. tostring(probe.raised)
        args = make_args(true)
      end
      local o = call(dirs.all, function() return fn(args) end)
      local ok, why = accepted(o)
      local s = o.sent[1]
      if ok and not (s and s[1] == verb and s[2]:match(template_pattern(path))) then
        ok, why = false, "sent " .. tostring(s and s[1]) .. " " .. tostring(s and s[2])
      end
      checked = checked + 1
      if not ok then
        failures[#failures + 1] = label .. ": " .. why
      end
    end
    for _, svc in ipairs(services.names()) do
      local ns = client[svc]
      for _, op in ipairs(services.operations(svc)) do
        if not op.multipart then
          run("client." .. svc .. ":" .. op.name,
              function(args) return ns[op.name](ns, args) end,
              function(schema_only) return contract.args(svc, op.row, schema_only) end,
              op.verb, op.path)
        end
      end
    end
    for name, e in pairs(index.flat) do
      local row = services.table(e[1]).ops[e[2]]
      if not e.each and not row.raw then
        run("client:" .. name, function(args) return client[name](client, args) end,
            function(schema_only) return contract.args(e[1], row, schema_only) end,
            row[1], row[2])
      end
    end
    table.sort(failures)
    assert.same({}, failures)
    assert.is_true(checked >= 515, checked .. " checked")
    -- the examples the specs get wrong are known ones
    table.sort(examples_invalid)
    assert.same({
      "client.messenger:send_campaign: sendpulse: bad argument 'args.messages[1].type' to "
        .. "messenger:send_campaign (one of \"text\", \"media_img\", \"media_file\", "
        .. "\"media_audio\", \"media_video\", \"template\" or \"list\" expected, got \"RESPONSE\")",
      "client.telegram:send_campaign: sendpulse: bad argument 'args.messages[1].type' to "
        .. "telegram:send_campaign (one of \"text\" expected, got \"photo\")",
    }, (function()
      local out = {}
      for i, x in ipairs(examples_invalid) do
        out[i] = x:gsub("^(.-: )[^:]*:%d+: ", "%1")
      end
      return out
    end)())
  end)

  local function find_row(c)
    local order = c.service and { c.service } or OLD
    for _, svc in ipairs(order) do
      for _, row in pairs(services.table(svc).ops) do
        if row[1] == c[1] and row[2] == c[2] then
          return row, svc
        end
      end
    end
  end

  local function check_hand_written(list, full)
    local failures = {}
    for _, c in ipairs(list) do
      local k = key(c[1], c[2])
      local row = find_row(c)
      local dup = c.service == "sms" or c.service == "smtp"
      local target = dup and dup_client or client
      local o = call(dup and dirs.dup or dirs.all, function() return c[3](target) end)
      local defect = DEFECTS[k] or {}
      local expected = full and defect.violations_full or defect.violations
      local problems = {}
      if not row then
        problems[#problems + 1] = "no row in " .. tostring(c.service or "the older specs")
      end
      if o.raised then
        problems[#problems + 1] = "raised: " .. tostring(o.raised)
      else
        local s = o.sent[1]
        if not s then
          problems[#problems + 1] = "sent nothing"
        elseif s[1] ~= c[1] or not s[2]:match(template_pattern(c[2])) then
          problems[#problems + 1] = "sent " .. s[1] .. " " .. s[2]
        end
        if expected then
          if not same_set(expected, o.violations) then
            problems[#problems + 1] = "expected exactly the known violations "
              .. table.concat(expected, "; ") .. ", got " .. table.concat(o.violations, "; ")
          end
        else
          local ok, why = accepted(o)
          if not ok then
            problems[#problems + 1] = why
          end
        end
        -- what Prism does not check: undeclared parameters and fields
        if row and s then
          local q = {}
          for _, name in ipairs(row.q or {}) do
            q[name] = true
          end
          local extra_q = {}
          for name in pairs(s[3] or {}) do
            if not q[name] then
              extra_q[#extra_q + 1] = name
            end
          end
          local extra_b = s[4] ~= nil and row.b and contract.undeclared(row.b, s[4], "body") or {}
          if s[4] ~= nil and not row.b then
            extra_b = { "a body the spec does not have" }
          end
          local allowed_q, allowed_b = {}, {}
          for _, x in ipairs(defect.undeclared_query or {}) do
            allowed_q[x] = true
          end
          for _, x in ipairs(defect.undeclared or {}) do
            allowed_b[x] = true
          end
          for _, x in ipairs(extra_q) do
            if not allowed_q[x] then
              problems[#problems + 1] = "undeclared query parameter " .. x
            end
          end
          for _, x in ipairs(extra_b) do
            if not allowed_b[x] then
              problems[#problems + 1] = "undeclared field " .. x
            end
          end
        end
      end
      if #problems > 0 then
        failures[#failures + 1] = k .. (c.service and (" (" .. c.service .. ")") or "")
          .. ": " .. table.concat(problems, "; ")
      end
    end
    return failures
  end

  it("Prism accepts the request of every hand-written method", function()
    assert.same({}, check_hand_written(calls, false))
  end)

  it("Prism accepts the hand-written methods' optional fields", function()
    assert.same({}, check_hand_written(calls.full, true))
  end)

  it("generated methods raise on wrong arguments before sending anything", function()
    local probe = setmetatable({}, { __index = function(_, k)
      if k == "request" then
        return function()
          error("sent a request")
        end
      end
    end })
    local kinds = { required = 0, type = 0, enum = 0 }
    local failures = {}
    local function expect(label, fn, args, name, what)
      local ok, e = pcall(fn, args)
      local want = "bad argument '" .. name .. "'"
      if ok or not tostring(e):find(want, 1, true) or not tostring(e):find(what, 1, true) then
        failures[#failures + 1] = label .. ": expected " .. want .. " (" .. what .. "), got "
          .. tostring(ok and "no error" or e)
      end
    end
    for _, svc in ipairs(contract.SERVICES) do
      for _, op in ipairs(services.operations(svc)) do
        local row = op.row
        local fn = require("sendpulse.service").method(svc .. ":" .. op.name, row)
        local call_it = function(args) return fn(probe, args) end
        local label = svc .. ":" .. op.name
        local base = contract.args(svc, row, true)
        -- missing required
        for _, r in ipairs(row.a.r or {}) do
          local args = {}
          for k, v in pairs(base) do
            args[k] = v
          end
          args[r] = nil
          expect(label, call_it, args, "args." .. r, "required")
          kinds.required = kinds.required + 1
        end
        -- wrong type and bad enum, field by field
        for name, s in pairs(row.a.p) do
          local t = type(s.t) == "table" and s.t[1] or s.t
          local wrong = ({ string = 12345, integer = "12", number = "1.5", boolean = "yes",
                           array = 7, object = 7 })[t]
          local nullable = type(s.t) == "table"
          if wrong ~= nil and not nullable and not s.one and not s.any then
            local args = {}
            for k, v in pairs(base) do
              args[k] = v
            end
            args[name] = wrong
            expect(label, call_it, args, "args." .. name, "expected")
            kinds.type = kinds.type + 1
          end
          if s.e and #s.e > 0 and not s.en and (t == "string" or t == "integer"
                                                or t == "number") then
            local args = {}
            for k, v in pairs(base) do
              args[k] = v
            end
            args[name] = t == "string" and "no-such-value" or -987654
            expect(label, call_it, args, "args." .. name, "one of")
            kinds.enum = kinds.enum + 1
          end
        end
      end
    end
    assert.same({}, failures)
    assert.is_true(kinds.required > 500 and kinds.type > 1000 and kinds.enum > 40,
                   ("%d required, %d type, %d enum"):format(kinds.required, kinds.type,
                                                             kinds.enum))
  end)

  it("the verifier's report download returns the file's bytes (opts.raw)", function()
    -- GET /verifier-service/get-report answers application/octet-stream:
    -- the row says raw = true, so the request accepts any type and the
    -- body comes back as a string, not decoded
    assert.is_true(services.table("verifier").ops.download_verification_report.raw)
    local _, from = contract.violations(dirs.all, 0)
    local o = call(dirs.all, function()
      return client:download_verification_report{ id = 1001, format = 2 }
    end)
    assert.is_true(accepted(o))
    assert.equal("string", type(o.res))
    assert.is_true(#o.res > 0)
    assert.same({ raw = true }, o.sent[1][5])
    -- what Prism saw: a request that accepts any type
    local log = assert(io.open(dirs.all .. "/log", "rb"))
    log:seek("set", from)
    local text = log:read("*a")
    log:close()
    assert.matches("get /verifier-service/get-report", text, 1, true)
    assert.matches("Request contains an accept header: */*", text, 1, true)
  end)

  describe("the two multipart uploads", function()
    local up_dir = "build/prism-contract-upload"
    local up_url, stop_up, up
    local fixture = "build/prism-contract-upload/report.csv"
    log_at[up_dir] = 0

    setup(function()
      up_url, stop_up = contract.prism_uploads(up_dir, { "crm", "files" })
      local f = assert(io.open(fixture, "wb"))
      f:write("email,name\r\nfrodo@shire.example,Frodo\r\n")
      f:close()
      up = sendpulse.new{ api_key = "contract-key", base_url = up_url, rate_limit = false,
                          max_retries = 0 }
      spy(up)
    end)

    teardown(function()
      if up then
        up:close()
      end
      if stop_up then
        stop_up()
      end
    end)

    local function upload(fn)
      local o = call(up_dir, function() return fn(up) end)
      local ok, why = accepted(o)
      assert(ok, why)
      assert.same({ multipart = true }, o.sent[1][5])
      return o
    end

    it("crm:upload_files from a path and from data", function()
      local o = upload(function(c)
        return c.crm:upload_files{ ["files[]"] = { sendpulse.file{ path = fixture } } }
      end)
      assert.equal("POST", o.sent[1][1])
      assert.equal("/crm/v1/files/upload", o.sent[1][2])
      assert.equal("table", type(o.res.data))
      upload(function(c)
        return c.crm:upload_files{ ["files[]"] = {
          sendpulse.file{ data = "%PDF-1.4 not really", filename = "offer.pdf",
                          content_type = "application/pdf" },
          sendpulse.file{ path = fixture, content_type = "text/csv" },
        } }
      end)
    end)

    it("files:upload_file from a path and from data, with its text fields", function()
      local o = upload(function(c)
        return c.files:upload_file{ pathToStore = "/imports",
                                    ["content[]"] = { sendpulse.file{ path = fixture } } }
      end)
      assert.equal("/fm/public/v1/file", o.sent[1][2])
      assert.is_true(o.res.success)
      upload(function(c)
        return c.files:upload_file{
          pathToStore = "/images", width = 1920, height = 1080,
          ["content[]"] = { sendpulse.file{ data = "\137PNG\r\n\26\n", filename = "a.png",
                                            content_type = "image/png" } },
        }
      end)
    end)

    it("Prism checks the multipart bodies: it rejects what the methods refuse", function()
      -- sent with client:request, past the methods' own checks
      local o = call(up_dir, function()
        return up:request("POST", "/fm/public/v1/file", nil,
                          { ["content[]"] = { sendpulse.file{ data = "x" } } },
                          { multipart = true })
      end)
      assert.same({ "Request body must have required property 'pathToStore'" }, o.violations)
      o = call(up_dir, function()
        return up:request("POST", "/fm/public/v1/file", nil,
                          { pathToStore = "/x", width = "wide",
                            ["content[]"] = { sendpulse.file{ data = "x" } } },
                          { multipart = true })
      end)
      assert.same({ "Request body property width must be integer" }, o.violations)
      -- and the methods refuse both before sending
      assert.has_error(function()
        up.files:upload_file{ ["content[]"] = { sendpulse.file{ data = "x" } } }
      end, "sendpulse: bad argument 'args.pathToStore' to files:upload_file (required)")
      assert.has_error(function()
        up.files:upload_file{ pathToStore = "/x", width = "wide",
                              ["content[]"] = { sendpulse.file{ data = "x" } } }
      end)
    end)
  end)
end)
