--- The prose of `sendpulse --help`: everything the registry cannot say.
-- @module sendpulse.cli.manual
-- @local
local tostring = tostring

local _M = {}

local SECTIONS = {
  { title = "Credentials: from the environment or a profile, never from the command line",
    rows = {
      { "SENDPULSE_CLIENT_ID", "OAuth client id (SendPulse: Settings > API)" },
      { "SENDPULSE_CLIENT_SECRET", "OAuth client secret" },
      { "SENDPULSE_API_KEY", "or an API key instead of the two above" },
      { "SENDPULSE_BASE_URL", "the default of --base-url" },
      { "SENDPULSE_CA_FILE", "the default of --ca-file" },
      { "SENDPULSE_OUTPUT", "the default of --output" },
      { "SENDPULSE_PROFILE", "the default of --profile" },
      { "SENDPULSE_CONFIG", "the configuration file (default: "
        .. "~/.config/sendpulse/config)" },
      { "SENDPULSE_TOKEN_DIR", "a directory where OAuth tokens are kept between runs "
        .. "(created mode 0700, files 0600; unset: a new token every run)" },
      { "SENDPULSE_DEBUG", "http: show each request (as -v); any value: a stack trace "
        .. "with an internal error" },
    },
    text = "Options such as --client-secret or --api-key are refused: other users of "
      .. "the machine can read command lines (ps, /proc), and shells keep them in "
      .. "their history." },
  { title = "Profiles",
    text = "The configuration file holds named profiles in [NAME] sections of key = "
      .. "value lines, with the keys client_id, client_secret, api_key, base_url, "
      .. "ca_file, timeout, output and token_dir. 'sendpulse configure [--profile "
      .. "NAME]' writes one without showing the secret. The file must be private "
      .. "(mode 0600): one that others may read is refused. A setting comes from the "
      .. "command line, else the environment, else the profile (SENDPULSE_PROFILE, "
      .. "else 'default'); a profile chosen with --profile comes before the "
      .. "environment. Credentials are taken whole from one place." },
  { title = "Commands of the API's operations",
    text = "The groups crm, chatbots, courses, files, instagram, live-chat, messenger, "
      .. "popups, telegram, tiktok, viber-bots and whatsapp have one command per "
      .. "operation, named after the library's method (client.crm:create_deal is "
      .. "'sendpulse crm create-deal'); the older groups have such commands for their "
      .. "newer operations too. Their parameters are NAME=VALUE words (the text read as "
      .. "the parameter's type: a number, true or false, null, or the text), NAME:=JSON "
      .. "for any JSON value, NAME=@PATH for a file to upload; a list parameter may be "
      .. "repeated; path parameters may come alone, in order; --json @FILE gives them "
      .. "as one object. The method checks them before anything is sent. 'sendpulse "
      .. "GROUP COMMAND --help' lists them, required ones marked, and --all walks every "
      .. "page of a paged operation." },
  { title = "Output",
    text = "The API's answer on standard output, as JSON by default: keys sorted, "
      .. "indented by two spaces (one line with --raw), integers exact, null as null, "
      .. "empty lists as []. --output ndjson prints a list one item per line, --output "
      .. "table as aligned columns, --output csv as RFC 4180 CSV with a header. With "
      .. "--all the items are printed as the pages arrive, with a counter on standard "
      .. "error when it is a terminal. Progress and reports go to standard error. On "
      .. "failure the error is one line on standard error; an --all list cut short "
      .. "keeps the items printed before it (as JSON, without its closing bracket). "
      .. "--dry-run prints the requests instead (no credentials needed), and -v "
      .. "shows each request made on standard error; neither shows a secret." },
  { title = "Exit status",
    rows = {
      { "0", "success" },
      { "1", "the API refused the request, or the network or TLS failed; also an "
        .. "import that stopped part-way (its report is still printed)" },
      { "2", "usage error: unknown command or option, bad or missing argument, "
        .. "missing credentials, unreadable file or profile, invalid JSON or CSV header" },
      { "3", "internal error (the library cannot be loaded, or a bug)" },
      { "4", "input rows rejected and nothing imported (address-books import "
        .. "--strict, or no valid row)" },
    } },
  { title = "Examples",
    lines = {
      "  sendpulse configure                  # or: export SENDPULSE_CLIENT_ID=... "
        .. "...",
      "  sendpulse user-info",
      "  sendpulse address-books list --all --output table",
      "  sendpulse address-books contacts 1000001 --all -o ndjson | jq .email",
      "  sendpulse address-books import 1000001 contacts.csv",
      "  sendpulse smtp send --from shop@example.com --from-name Shop \\",
      "      --to 'Frodo <frodo@example.com>' --subject Hello --html @mail.html",
      "  sendpulse campaigns create ... --dry-run",
      "  sendpulse crm create-deal pipelineId=1 stepId=2 name='New order'",
      "  sendpulse telegram get-contacts-by-tag bot_id=66b0... tag=vip --all",
      "  sendpulse files upload-file pathToStore=/docs content=@report.pdf",
      "  sendpulse get /addressbooks limit=10 offset=20",
      "  sendpulse post /addressbooks '{\"bookName\": \"Customers\"}'",
      "  source <(sendpulse completion bash)",
    } },
}

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
    sections = SECTIONS,
  }
end

return _M
