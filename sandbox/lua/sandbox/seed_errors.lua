-- The error codes of the seed document ("Error codes" in
-- /work/shared/seed/sendpulse-api-intro.txt) with their texts, copied
-- exactly, typographic apostrophes included: clients and specs compare
-- the messages byte for byte. The HTTP status is not in the seed's table;
-- each area chooses it where it answers.

local error = error
local tostring = tostring

local util = require "sandbox.util"

local _M = {}

_M.TEXTS = {
    [8] = "No data",
    [10] = "Sender email address missing",
    [11] = "Can’t find recipients addresses",
    [13] = "Empty email message content field",
    [14] = "Can’t find email address with the specified ID",
    [17] = "Can’t find the email address",
    [19] = "Email address already exists",
    [20] = "Using free email services (not allowed)",
    [21] = "No such email address awaiting activation",
    [97] = "Invalid email address type. Using free email services is not allowed.",
    [201] = "Empty mailing list name",
    [203] = "This mailing list name already exists",
    [211] = "Mailing list empty",
    [213] = "Mailing list not found",
    [303] = "Can’t find email addresses in the mailing list",
    [400] = "Specified SMTP user doesn’t exist. Create an SMTP account.",
    [502] = "Can’t find the email address",
    [602] = "Can’t find the campaign. Probably, it has already been sent.",
    [701] = "Sender email address or name not specified.",
    [703] = "Can’t find the mailing list",
    [704] = "Can’t find the sender",
    [707] = "Account balance depleted",
    [708] = "The number of campaign recipients exceeds your current pricing plan limits",
    [711] = "Wait before create new push campaign by this website",
    [720] = "Empty subject field",
    [721] = "Email message empty",
    [722] = "Mailing list ID not specified",
    [791] = "API-campaigns limit exceeded (4 per hour)",
    [799] = "Incorrect date format. Use YYYY-MM-DD hh:ii:ss that equals or greater "
            .. "than the current date",
    [800] = "Invalid operation",
    [802] = "Campaign not found",
    [901] = "Sender name not specified",
    [902] = "Selected email address already in use",
    [903] = "Sender email address not specified",
    [904] = "Email address blacklisted",
    [905] = "Sender address quota reached",
    [906] = "Email address syntax error",
    [1101] = "Email address not specified",
    [1003] = "The specified sender doesn’t exist",
    [1004] = "The activation code has been sent. Wait 15 minutes to retry",
    [1005] = "Error sending confirmation",
    [1104] = "Activation code not specified",
    [2020202020] = "More than 10 requests per second",
}

--- The answer `status, {error_code = code, message = <the seed's text>}`
-- (what util.api_error returns). A code the seed does not list is a bug
-- in the calling area: it raises rather than answer with a made-up text.
function _M.answer(status, code)
    local text = _M.TEXTS[code]
    if not text then
        error("sandbox: error code " .. tostring(code) .. " is not in the seed's table", 2)
    end
    return util.api_error(status, code, text)
end

return _M
