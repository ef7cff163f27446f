--- Email templates: the account's own and SendPulse's gallery.
--
-- A template has two ids: `id`, a string hash, and `real_id`, an integer.
-- Bodies are given as plain HTML and base64-encoded here; the API sends
-- them back base64-encoded (`body` of `template`), and they stay so.
-- Note the API's PHP heritage: a template without a category has
-- `category_info = []` and one without tags `tags = []`, i.e. an empty
-- table where a filled one is an object; test with `next(t.category_info)`.
-- @area sendpulse.templates
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local type = type

local path = util.path
local base64 = util.base64

local _M = {}

local OWNERS = { me = true, sendpulse = true }
local LIST_KEYS = { owner = true }

local function check_owner(method, opts)
  local owner = opts and opts.owner
  if owner ~= nil and not OWNERS[owner] then
    util.fail(method, "opts.owner", '"me" or "sendpulse" expected')
  end
end

--- Lists templates, one page.
-- @http GET /templates
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `owner`
--   (`"me"` for the account's own, `"sendpulse"` for the gallery)
-- @treturn table a list of `{id, real_id, name, name_slug, lang, owner,
--   created, preview, is_structure, category, category_info, tags, ...}`
--   (`category_info` and `tags` are empty tables when unset, see above)
-- @return[2] nil, err
-- @usage for _, t in ipairs(assert(client:templates{owner = "me"})) do print(t.real_id, t.name) end
function _M:templates(opts)
  local q = paging.query("templates", opts, LIST_KEYS, 100)
  check_owner("templates", q)
  return self:request("GET", "/templates", q)
end

--- Iterates over every template, page by page.
-- @http GET /templates
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`, `owner`
-- @treturn function an iterator yielding one template at a time; on
--   failure it yields `false, err` once
-- @usage for t, err in client:each_template{owner = "sendpulse"} do
--   assert(t, err) print(t.name)
-- end
function _M:each_template(opts)
  check_owner("each_template", type(opts) == "table" and opts or nil)
  return paging.each(self, "each_template", "/templates", opts, LIST_KEYS)
end

--- One template, with its body.
-- @http GET /template/{id}
-- @tparam integer|string id the `real_id`, or the hash `id`
-- @treturn table `{id, real_id, name, name_slug, lang, body, owner,
--   created, preview, tags, category, category_info, is_structure, ...}`;
--   `body` is base64, as sent; `category_info` and `tags` are empty tables
--   when unset (the API sends `[]`)
-- @return[2] nil, err (`status` 404 when it does not exist)
-- @usage local t = assert(client:template(real_id)); print(t.name, t.lang)
function _M:template(id)
  id = util.template_id("template", "id", id)
  return self:request("GET", path("template", id))
end

local CREATE_FIELDS = util.set{ "body", "lang", "name" }
-- the languages the API's spec allows
local LANGS = util.set{ "en", "ru", "ua", "tr", "es", "pt" }
local EDIT_FIELDS = util.set{ "body", "lang" }

local function template_body(method, arg, t, allowed)
  util.table(method, arg, t)
  util.known_keys(method, arg, t, allowed)
  local lang = util.string(method, arg .. ".lang", t.lang, true)
  if lang ~= nil and not LANGS[lang] then
    util.fail(method, arg .. ".lang", '"en", "ru", "ua", "tr", "es" or "pt" expected, got '
              .. string.format("%q", lang))
  end
  return {
    body = base64(util.string(method, arg .. ".body", t.body)),
    lang = lang,
    name = allowed.name and util.string(method, arg .. ".name", t.name, true) or nil,
  }
end

--- Creates a template from HTML (base64-encoded here).
-- @http POST /template
-- @tparam table template `body` (HTML, required), `lang` (`"en"`, `"ru"`,
--   `"ua"`, `"tr"`, `"es"` or `"pt"`), `name`
-- @treturn table `{result = true, real_id}`
-- @return[2] nil, err
-- @usage local real_id = assert(client:create_template{ name = "Welcome",
--   body = "<h1>Hello {{name}}</h1>", lang = "en" }).real_id
function _M:create_template(template)
  return self:request("POST", "/template", nil,
                      template_body("create_template", "template", template,
                                    CREATE_FIELDS))
end

--- Replaces the body (and language) of one of the account's templates.
-- @http POST /template/edit/{id}
-- @tparam integer id the template's `real_id`
-- @tparam table template `body` (HTML, required), `lang`
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 800 for a gallery template)
-- @usage assert(client:update_template(real_id, { body = "<h1>Hi</h1>", lang = "en" }))
function _M:update_template(id, template)
  util.integer("update_template", "id", id, false, 1)
  return self:request("POST", path("template", "edit", id), nil,
                      template_body("update_template", "template", template,
                                    EDIT_FIELDS))
end

return _M
