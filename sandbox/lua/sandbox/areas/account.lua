-- Account endpoints: /user/info, /user/invited-users-list,
-- /user/balance/detail. They answer the seed document's sample responses,
-- byte for byte, from sandbox/data/*.json: the files are served as raw text
-- and never decoded and re-encoded (that would reorder keys and reformat
-- the big phone numbers).
--
-- /balance and /balance/{currency} answer `{currency, balance_currency}`
-- from the same seed: the main balance of /user/balance/detail (9.36 USD),
-- converted at the fixed RATES below. The currency in the path is matched
-- without regard to case (PHP upper-cases it, Go lower-cases it).

local pairs = pairs
local error = error
local tostring = tostring
local tonumber = tonumber
local type = type
local math_floor = math.floor
local str_upper = string.upper

local util = require "sandbox.util"

local _M = {}

-- route path -> data file name
local FILES = {
    ["/user/info"] = "user_info.json",
    ["/user/invited-users-list"] = "invited_users.json",
    ["/user/balance/detail"] = "balance_detail.json",
}

-- Units of each currency per US dollar (fixed, made-up but plausible).
_M.RATES = {
    USD = 1, EUR = 0.92, GBP = 0.79, UAH = 41.5, RUB = 92, RUR = 92,
    PLN = 3.98, KZT = 505,
}

local documents = {} -- route path -> raw JSON text
local balance        -- {amount, currency} from the balance detail seed

--- Loads the data files; called once from init_by_lua (nginx master), so a
-- missing file stops nginx from starting instead of failing later.
function _M.init(sandbox_dir)
    local data_dir = sandbox_dir .. "/data"
    for path, file in pairs(FILES) do
        local text, err = util.read_file(data_dir .. "/" .. file)
        if not text then
            error("sandbox: cannot read seed data " .. file .. ": " .. tostring(err))
        end
        documents[path] = text
    end
    local detail = util.decode(documents["/user/balance/detail"])
    local main = type(detail) == "table" and type(detail.balance) == "table"
                 and detail.balance
    if not main or not tonumber(main.main) or not _M.RATES[main.currency] then
        error("sandbox: balance_detail.json has no balance.main/currency")
    end
    balance = { amount = tonumber(main.main), currency = main.currency }
end

local function serve_document(req)
    return 200, documents[req.path]
end

-- The balance in `currency` (upper-case), rounded to cents.
local function balance_in(currency)
    local usd = balance.amount / _M.RATES[balance.currency]
    local amount = math_floor(usd * _M.RATES[currency] * 100 + 0.5) / 100
    return { currency = currency, balance_currency = amount }
end

-- GET /balance
local function get_balance()
    return 200, balance_in(balance.currency)
end

-- GET /balance/{currency}; no code of the seed's table fits an unknown
-- currency
local function get_balance_in(_, params)
    local currency = str_upper(params.currency)
    if not _M.RATES[currency] then
        return util.api_error(404, 404, "Unknown currency")
    end
    return 200, balance_in(currency)
end

_M.routes = {
    { "GET", "/user/info", serve_document },
    { "GET", "/user/invited-users-list", serve_document },
    { "GET", "/user/balance/detail", serve_document },
    { "GET", "/balance", get_balance },
    { "GET", "/balance/{currency}", get_balance_in },
}

return _M
