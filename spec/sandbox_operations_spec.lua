-- The sandbox serves every operation of the newer services (client.crm,
-- client.telegram, ...: sandbox/lua/sandbox/generic.lua routes them from
-- the client's rows). Each operation is called once through its generated
-- method with arguments its spec accepts (spec/support/contract.lua, as
-- the contract spec does against Prism); the sandbox must route it to
-- that operation (its request log names it), find the request valid (no
-- 400/422: the validator is the client's), and answer 2xx in the shape of
-- the spec's success response, or 404 for an object it does not hold (a
-- get, update or delete of an id nothing created, or an object a
-- hand-written flow looks up).
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"
local contract = require "support.contract"
local services = require "sendpulse.services"
local schema = require "sendpulse.schema"
local core = require "sendpulse.core"

schema.null = sendpulse.null

local NEW = services.names()
local index = require "sendpulse.api.index"

-- raises as the generated method would, sending nothing
local function service_check(op, args)
  local fn = require("sendpulse.service").method("check", op.row)
  fn(setmetatable({}, { __index = function() return function() return true end end }), args)
end

local function responses(svc)
  return dofile("api/responses/" .. svc .. ".lua")(sendpulse.null, sendpulse.array)
end

describe("the sandbox's operations #sandbox", function()
  local client, served

  setup(function()
    sandbox.reset()
    client = sandbox.client{ api_key = sandbox.api_key, max_retries = 0 }
    served = sandbox.admin("GET", "/operations").services
  end)

  teardown(function()
    client:close()
  end)

  it("serves every operation of the newer services", function()
    local total = 0
    for _, svc in ipairs(NEW) do
      local n = #services.operations(svc)
      assert.is_table(served[svc], svc)
      assert.equal(n, served[svc].operations, svc)
      total = total + n
    end
    assert.equal(497, total)
  end)

  -- the seeded objects: each channel's bot and contacts (Frodo, and Sam
  -- for delete_contact), the pop-up project and
  -- its pop-ups, a course
  local seeds = {}
  local function seeded(svc, name)
    local chatbot = services.table(svc).ops.list_bots
    if chatbot then
      if not seeds[svc] then
        local bot = assert(client[svc]:list_bots()).data[1].id
        local cs = assert(client[svc]:get_contacts_by_tag{ bot_id = bot, tag = "sandbox" }).data
        seeds[svc] = { bot = bot, frodo = cs[1].id, sam = cs[2].id,
                       phone = cs[1].phone, telegram_id = tonumber(cs[1].telegram_id) }
      end
      local s = seeds[svc]
      local contact = name == "delete_contact" and s.sam
                      or s.frodo
      return { bot_id = s.bot, contact_id = contact, id = contact, phone = s.phone,
               telegram_id = s.telegram_id }
    elseif svc == "popups" then
      if not seeds.popups then
        local project = assert(client.popups:list_widgets()).data[1].id
        local ps = assert(client.popups:list_popups_by_project_id{ projectId = project }).data
        seeds.popups = { project = project, welcome = ps[1].id, exit = ps[2].id }
      end
      local s = seeds.popups
      return { projectId = s.project, popupId = name == "delete_popup" and s.exit or s.welcome }
    elseif svc == "courses" then
      return { courseId = 501, courseTariffId = 601 }
    elseif svc == "files" then
      return { path = "/" }
    end
    return {}
  end

  it("routes, validates and answers each one as its spec says", function()
    local started, wall = os.clock(), core.monotime()
    local failures, count, answered = {}, 0, { ok = 0, not_found = 0 }
    local function log_since(n)
      return assert(client:request("GET", "/__sandbox/log", { since = n }))
    end
    local at = log_since(0).last_index
    for _, svc in ipairs(NEW) do
      local ns = client[svc]
      local resp = responses(svc)
      local kinds = served[svc].ops
      for _, op in ipairs(services.operations(svc)) do
        local label = svc .. ":" .. op.name
        local function make(from_schema)
          local args = contract.args(svc, op.row, from_schema)
          for _, p in ipairs(op.params) do
            -- a file where the spec wants one
            if p.schema.f == "binary" or (p.schema.i and p.schema.i.f == "binary") then
              local f = sendpulse.file{ data = "file bytes", filename = "a.txt" }
              args[p.name] = p.schema.i and { f } or f
            end
          end
          return args
        end
        -- an example of the spec that its own schema rejects (the client
        -- refuses it before sending): arguments built from the schema
        local args = make(false)
        if not pcall(service_check, op, args) then
          args = make(true)
        end
        -- the ids of objects the sandbox seeds, where the operation names
        -- one: its flows answer more than 404 then
        for k, v in pairs(seeded(svc, op.name)) do
          if args[k] ~= nil or op.row.a.p[k] then
            args[k] = v
          end
        end
        local ok, res, err = pcall(ns[op.name], ns, args)
        count = count + 1
        local log = log_since(at)
        local entry = log.entries[#log.entries]
        at = log.last_index
        local kind = kinds[op.name] and kinds[op.name].kind
        local function fail(why)
          failures[#failures + 1] = label .. " (" .. tostring(kind) .. "): " .. why
        end
        if not ok then
          fail("raised " .. tostring(res))
        elseif not entry or entry.operation ~= label then
          fail("logged as " .. tostring(entry and entry.operation) .. " "
               .. tostring(entry and entry.status))
        elseif res == nil then
          local body = err.body and sendpulse.json.decode(err.body)
          local hand = kinds[op.name] and kinds[op.name].hand_written
          if err.status == 404 and (kind == "get" or kind == "update" or kind == "delete"
                                    or hand)
             and type(body) == "table" and body.success == false
             and tostring(body.message):find("not found", 1, true) then
            answered.not_found = answered.not_found + 1
          else
            fail("answered " .. tostring(err) .. " " .. tostring(err.body):sub(1, 200))
          end
        else
          answered.ok = answered.ok + 1
          local r = resp[op.name]
          if type(res) == "table" and r and r.s then
            local s = r.s
            if kinds[op.name].list_not_in_spec then
              -- a list where the spec has one object: each item is one
              s = { t = "object", p = { data = { t = "array", i = r.s.p.data } } }
            end
            local good, where, why = schema.check(s, res, "answer")
            if not good then
              fail("answer not in the spec's shape: " .. where .. ": " .. why)
            end
          end
        end
      end
    end
    print(("\n  %d operations: %d answered 2xx, %d 404 (no such object); %.2f s (%.2f s CPU)")
          :format(count, answered.ok, answered.not_found, core.monotime() - wall,
                  os.clock() - started))
    table.sort(failures)
    assert.same({}, failures)
    assert.equal(497, count)
  end)

  it("serves the flat methods built from the older areas' rows", function()
    local failures, count = {}, 0
    local names = {}
    for name, e in pairs(index.flat) do
      if not e.each then
        names[#names + 1] = name
      end
    end
    table.sort(names)
    for _, name in ipairs(names) do
      local svc, op = index.flat[name][1], index.flat[name][2]
      local row = services.table(svc).ops[op]
      local args = contract.args(svc, row, false)
      local ok, res, err = pcall(client[name], client, args)
      count = count + 1
      local entry = sandbox.last()
      local generated = served[svc] and served[svc].ops[op]
      if not ok then
        failures[#failures + 1] = name .. ": raised " .. tostring(res)
      elseif generated and entry.operation ~= svc .. ":" .. op then
        failures[#failures + 1] = name .. ": logged as " .. tostring(entry.operation)
      elseif res == nil and not (err.status == 404 and err.body
                                 and not err.body:find('"message":"Not found"', 1, true)) then
        failures[#failures + 1] = name .. ": " .. tostring(err)
      end
    end
    assert.same({}, failures)
    assert.equal(22, count)
  end)
end)
