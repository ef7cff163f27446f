-- Shell completion scripts (`sendpulse completion bash|zsh|fish`): they
-- parse, they name every command, and bash (and fish, when installed)
-- complete with them. The scripts are made in this process; the shells
-- run them. No sandbox.
local cli = require "sendpulse.cli"

local function script(shell)
  local out, err = io.tmpfile(), io.tmpfile()
  local code = cli.main({ "completion", shell }, { stdout = out, stderr = err, env = {} })
  out:seek("set")
  local text = out:read("*a")
  out:close()
  err:close()
  assert.equal(0, code)
  return text
end

local function installed(name)
  local p = io.popen("command -v " .. name .. " 2>/dev/null")
  local where = p:read("*l")
  p:close()
  return where ~= nil and where ~= ""
end

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; its output and whether it exited 0.
local function shell(command)
  local p = io.popen(command .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.-)exit=(%d+)\n$")
  return body, code == "0"
end

local function save(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- What bash offers for the command line `line` (the cursor at its end).
local function bash_complete(path, line)
  local words = {}
  for w in line:gmatch("%S+") do
    words[#words + 1] = q(w)
  end
  if line:sub(-1) == " " then
    words[#words + 1] = "''"
  end
  local out, ok = shell("bash -c " .. q("source " .. path .. "; COMP_WORDS=(" .. table.concat(
    words, " ") .. "); COMP_CWORD=" .. (#words - 1) .. "; _sendpulse; "
    .. "printf '%s\\n' \"${COMPREPLY[@]}\""))
  assert(ok, out)
  local list = {}
  for w in out:gmatch("[^\n]+") do
    list[#list + 1] = w
  end
  table.sort(list)
  return list
end

describe("sendpulse completion", function()
  it("bash: the script parses and names every command and option", function()
    local text = script("bash")
    local path = save(text)
    local out, ok = shell("bash -n " .. path)
    assert(ok, out)
    local reg = cli.registry()
    for _, c in ipairs(reg.commands) do
      assert.truthy(text:find(c.name, 1, true), c.path)
      for _, o in ipairs(c.options) do
        assert.truthy(text:find("--" .. o.name, 1, true), c.path .. " --" .. o.name)
      end
    end
    for _, g in ipairs(reg.groups) do
      assert.truthy(text:find("'" .. g.name .. "') REPLY='", 1, true), g.name)
    end
    os.remove(path)
  end)

  it("bash: completes words, options, their values, and arguments", function()
    local path = save(script("bash"))
    assert.same({ "address-books" }, bash_complete(path, "sendpulse address-b"))
    assert.same({ "import" }, bash_complete(path, "sendpulse address-books im"))
    assert.same({ "list" }, bash_complete(path, "sendpulse --raw -o table address-books li"))
    assert.same({ "--limit" }, bash_complete(path, "sendpulse address-books list --lim"))
    assert.same({ "auto", "bar", "lines", "none" },
                bash_complete(path, "sendpulse address-books import 1 f.csv --progress "))
    assert.same({ "csv", "json", "ndjson", "table" }, bash_complete(path, "sendpulse -o "))
    assert.same({ "bash", "fish", "zsh" }, bash_complete(path, "sendpulse completion "))
    assert.same({ "--strict" }, bash_complete(path, "sendpulse address-books import --st"))
    os.remove(path)
  end)

  it("zsh: the script parses", function()
    if not installed("zsh") then
      pending("zsh is not installed")
      return
    end
    local path = save(script("zsh"))
    local out, ok = shell("zsh -n " .. path)
    assert(ok, out)
    os.remove(path)
  end)

  it("fish: the script parses and completes", function()
    if not installed("fish") then
      pending("fish is not installed")
      return
    end
    local path = save(script("fish"))
    local out, ok = shell("fish -n " .. path)
    assert(ok, out)
    out, ok = shell("HOME=/nonexistent fish --no-config -c " .. q("source " .. path
                    .. "; complete -C 'sendpulse address-books im'"))
    assert(ok, out)
    assert.truthy(out:find("^import\tImports contacts"), out)
    out = shell("HOME=/nonexistent fish --no-config -c " .. q("source " .. path
                .. "; complete -C 'sendpulse address-books import --progress '"))
    assert.truthy(out:find("bar", 1, true), out)
    os.remove(path)
  end)
end)
