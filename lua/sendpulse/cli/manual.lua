--- The prose of `sendpulse --help`: everything the registry cannot say.
-- @module sendpulse.cli.manual
-- @local
local tostring = tostring

local _M = {}

--- The page's text parts for `sendpulse.cli.help.main`.
function _M.text(version)
  return {
    title = "sendpulse: the SendPulse REST API from the command line (lua-sendpulse "
      .. tostring(version) .. ")",
    usage = {
      "usage: sendpulse [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]",
      "       sendpulse GROUP COMMAND [ARGUMENTS] [OPTIONS]",
      "       sendpulse help [GROUP] [COMMAND]     (or COMMAND --help)",
    },
    sections = {
      { title = "Credentials are read from the environment only",
        rows = {
          { "SENDPULSE_CLIENT_ID", "OAuth client id (SendPulse: Settings > API)" },
          { "SENDPULSE_CLIENT_SECRET", "OAuth client secret" },
          { "SENDPULSE_API_KEY", "or an API key instead of the two above" },
          { "SENDPULSE_BASE_URL", "the default of --base-url" },
          { "SENDPULSE_CA_FILE", "the default of --ca-file" },
          { "SENDPULSE_TOKEN_DIR", "a directory where OAuth tokens are kept between runs "
            .. "(created mode 0700, files 0600; unset: a new token every run)" },
        },
        text = "Options such as --client-secret or --api-key are refused: other users of "
          .. "the machine can read command lines (ps, /proc), and shells keep them in "
          .. "their history." },
      { title = "Output",
        text = "The API's answer as JSON on standard output: keys sorted, indented by two "
          .. "spaces (one line with --raw), integers exact, null as null, empty lists "
          .. "as []. Progress and reports go to standard error. On failure the error "
          .. "is one line on standard error and nothing is written to standard output." },
      { title = "Exit status",
        rows = {
          { "0", "success" },
          { "1", "the API refused the request, or the network or TLS failed; also an "
            .. "import that stopped part-way" },
          { "2", "usage error: unknown command or option, bad or missing argument, "
            .. "missing credentials, unreadable file, invalid JSON or CSV header" },
          { "3", "internal error (the library cannot be loaded, or a bug)" },
        } },
      { title = "Examples",
        lines = {
          "  export SENDPULSE_CLIENT_ID=... SENDPULSE_CLIENT_SECRET=...",
          "  sendpulse user-info",
          "  sendpulse address-books list --all",
          "  sendpulse address-books import 1000001 contacts.csv",
          "  sendpulse smtp send --from shop@example.com --from-name Shop \\",
          "      --to 'Frodo <frodo@example.com>' --subject Hello --html @mail.html",
          "  sendpulse get /addressbooks limit=10 offset=20",
          "  sendpulse post /addressbooks '{\"bookName\": \"Customers\"}'",
        } },
    },
  }
end

return _M
