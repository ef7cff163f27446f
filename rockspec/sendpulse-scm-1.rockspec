rockspec_format = "3.0"
package = "sendpulse"
version = "scm-1"
source = {
  url = "git+https://github.com/lua-sendpulse/lua-sendpulse.git",
}
description = {
  summary = "SendPulse REST API client with a C core on libcurl",
  detailed = [[
    The SendPulse REST API for Lua 5.1 (LuaJIT/OpenResty) to 5.4: OAuth
    tokens cached and refreshed, safe retries, client-side rate limiting,
    errors as objects, integers kept exact, nginx cosockets under OpenResty.
  ]],
  homepage = "https://github.com/lua-sendpulse/lua-sendpulse",
  license = "MIT",
  labels = { "sendpulse", "email", "api", "openresty" },
}
-- No JSON rock: the C core has its own JSON, which keeps integers exact.
-- Lua 5.2 is left out: nothing here builds or tests for it (make install
-- refuses it too).
dependencies = {
  "lua >= 5.1, ~= 5.2, < 5.5",
}
-- Only the library is checked: Debian keeps curl.h in a multiarch folder
-- LuaRocks does not search, while the compiler finds it by itself.
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { library = "ssl" },
}
build = {
  type = "builtin",
  modules = {
    ["sendpulse.core"] = {
      sources = {
        "csrc/base64.c", "csrc/buffer.c", "csrc/call.c", "csrc/core.c",
        "csrc/drive.c", "csrc/errors.c", "csrc/file.c", "csrc/http.c", "csrc/json.c",
        "csrc/pacer.c", "csrc/redact.c", "csrc/redis.c", "csrc/request.c",
        "csrc/sha256.c", "csrc/token.c", "csrc/url.c", "csrc/wire.c",
      },
      libraries = { "curl", "ssl", "crypto" },
      incdirs = { "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    ["sendpulse"] = "lua/sendpulse/init.lua",
    ["sendpulse.account"] = "lua/sendpulse/account.lua",
    ["sendpulse.addressbooks"] = "lua/sendpulse/addressbooks.lua",
    ["sendpulse.api.automation"] = "lua/sendpulse/api/automation.lua",
    ["sendpulse.api.chatbots"] = "lua/sendpulse/api/chatbots.lua",
    ["sendpulse.api.courses"] = "lua/sendpulse/api/courses.lua",
    ["sendpulse.api.crm"] = "lua/sendpulse/api/crm.lua",
    ["sendpulse.api.email"] = "lua/sendpulse/api/email.lua",
    ["sendpulse.api.files"] = "lua/sendpulse/api/files.lua",
    ["sendpulse.api.help"] = "lua/sendpulse/api/help.lua",
    ["sendpulse.api.index"] = "lua/sendpulse/api/index.lua",
    ["sendpulse.api.instagram"] = "lua/sendpulse/api/instagram.lua",
    ["sendpulse.api.live_chat"] = "lua/sendpulse/api/live_chat.lua",
    ["sendpulse.api.messenger"] = "lua/sendpulse/api/messenger.lua",
    ["sendpulse.api.popups"] = "lua/sendpulse/api/popups.lua",
    ["sendpulse.api.push"] = "lua/sendpulse/api/push.lua",
    ["sendpulse.api.sms"] = "lua/sendpulse/api/sms.lua",
    ["sendpulse.api.smtp"] = "lua/sendpulse/api/smtp.lua",
    ["sendpulse.api.telegram"] = "lua/sendpulse/api/telegram.lua",
    ["sendpulse.api.tiktok"] = "lua/sendpulse/api/tiktok.lua",
    ["sendpulse.api.verifier"] = "lua/sendpulse/api/verifier.lua",
    ["sendpulse.api.viber"] = "lua/sendpulse/api/viber.lua",
    ["sendpulse.api.viber_bots"] = "lua/sendpulse/api/viber_bots.lua",
    ["sendpulse.api.whatsapp"] = "lua/sendpulse/api/whatsapp.lua",
    ["sendpulse.automation"] = "lua/sendpulse/automation.lua",
    ["sendpulse.blacklist"] = "lua/sendpulse/blacklist.lua",
    ["sendpulse.build"] = "lua/sendpulse/build.lua",
    ["sendpulse.bulk"] = "lua/sendpulse/bulk.lua",
    ["sendpulse.campaigns"] = "lua/sendpulse/campaigns.lua",
    ["sendpulse.cli"] = "lua/sendpulse/cli/init.lua",
    ["sendpulse.cli.args"] = "lua/sendpulse/cli/args.lua",
    ["sendpulse.cli.commands.account"] = "lua/sendpulse/cli/commands/account.lua",
    ["sendpulse.cli.commands.addressbooks"] = "lua/sendpulse/cli/commands/addressbooks.lua",
    ["sendpulse.cli.commands.automation"] = "lua/sendpulse/cli/commands/automation.lua",
    ["sendpulse.cli.commands.blacklist"] = "lua/sendpulse/cli/commands/blacklist.lua",
    ["sendpulse.cli.commands.campaigns"] = "lua/sendpulse/cli/commands/campaigns.lua",
    ["sendpulse.cli.commands.common"] = "lua/sendpulse/cli/commands/common.lua",
    ["sendpulse.cli.commands.emails"] = "lua/sendpulse/cli/commands/emails.lua",
    ["sendpulse.cli.commands.generic"] = "lua/sendpulse/cli/commands/generic.lua",
    ["sendpulse.cli.commands.push"] = "lua/sendpulse/cli/commands/push.lua",
    ["sendpulse.cli.commands.senders"] = "lua/sendpulse/cli/commands/senders.lua",
    ["sendpulse.cli.commands.sms"] = "lua/sendpulse/cli/commands/sms.lua",
    ["sendpulse.cli.commands.smtp"] = "lua/sendpulse/cli/commands/smtp.lua",
    ["sendpulse.cli.commands.templates"] = "lua/sendpulse/cli/commands/templates.lua",
    ["sendpulse.cli.commands.tool"] = "lua/sendpulse/cli/commands/tool.lua",
    ["sendpulse.cli.commands.verifier"] = "lua/sendpulse/cli/commands/verifier.lua",
    ["sendpulse.cli.commands.viber"] = "lua/sendpulse/cli/commands/viber.lua",
    ["sendpulse.cli.commands.webhooks"] = "lua/sendpulse/cli/commands/webhooks.lua",
    ["sendpulse.cli.completion"] = "lua/sendpulse/cli/completion.lua",
    ["sendpulse.cli.config"] = "lua/sendpulse/cli/config.lua",
    ["sendpulse.cli.configure"] = "lua/sendpulse/cli/configure.lua",
    ["sendpulse.cli.csv"] = "lua/sendpulse/cli/csv.lua",
    ["sendpulse.cli.errors"] = "lua/sendpulse/cli/errors.lua",
    ["sendpulse.cli.help"] = "lua/sendpulse/cli/help.lua",
    ["sendpulse.cli.import"] = "lua/sendpulse/cli/import.lua",
    ["sendpulse.cli.manual"] = "lua/sendpulse/cli/manual.lua",
    ["sendpulse.cli.operations"] = "lua/sendpulse/cli/operations.lua",
    ["sendpulse.cli.output"] = "lua/sendpulse/cli/output.lua",
    ["sendpulse.cli.params"] = "lua/sendpulse/cli/params.lua",
    ["sendpulse.cli.progress"] = "lua/sendpulse/cli/progress.lua",
    ["sendpulse.cli.registry"] = "lua/sendpulse/cli/registry.lua",
    ["sendpulse.cli.rows"] = "lua/sendpulse/cli/rows.lua",
    ["sendpulse.cli.session"] = "lua/sendpulse/cli/session.lua",
    ["sendpulse.cli.sys"] = "lua/sendpulse/cli/sys.lua",
    ["sendpulse.cli.util"] = "lua/sendpulse/cli/util.lua",
    ["sendpulse.client"] = "lua/sendpulse/client.lua",
    ["sendpulse.emails"] = "lua/sendpulse/emails.lua",
    ["sendpulse.engine"] = "lua/sendpulse/engine.lua",
    ["sendpulse.newer"] = "lua/sendpulse/newer.lua",
    ["sendpulse.pacers"] = "lua/sendpulse/pacers.lua",
    ["sendpulse.pacers.ngx_shared"] = "lua/sendpulse/pacers/ngx_shared.lua",
    ["sendpulse.pacers.redis"] = "lua/sendpulse/pacers/redis.lua",
    ["sendpulse.paging"] = "lua/sendpulse/paging.lua",
    ["sendpulse.push"] = "lua/sendpulse/push.lua",
    ["sendpulse.redis"] = "lua/sendpulse/redis.lua",
    ["sendpulse.schema"] = "lua/sendpulse/schema.lua",
    ["sendpulse.senders"] = "lua/sendpulse/senders.lua",
    ["sendpulse.service"] = "lua/sendpulse/service.lua",
    ["sendpulse.services"] = "lua/sendpulse/services.lua",
    ["sendpulse.shdict_lock"] = "lua/sendpulse/shdict_lock.lua",
    ["sendpulse.sms"] = "lua/sendpulse/sms.lua",
    ["sendpulse.smtp"] = "lua/sendpulse/smtp.lua",
    ["sendpulse.stores"] = "lua/sendpulse/stores.lua",
    ["sendpulse.stores.file"] = "lua/sendpulse/stores/file.lua",
    ["sendpulse.stores.memory"] = "lua/sendpulse/stores/memory.lua",
    ["sendpulse.stores.ngx_shared"] = "lua/sendpulse/stores/ngx_shared.lua",
    ["sendpulse.stores.redis"] = "lua/sendpulse/stores/redis.lua",
    ["sendpulse.templates"] = "lua/sendpulse/templates.lua",
    ["sendpulse.transport"] = "lua/sendpulse/transport/init.lua",
    ["sendpulse.transport.curl"] = "lua/sendpulse/transport/curl.lua",
    ["sendpulse.transport.ngx"] = "lua/sendpulse/transport/ngx.lua",
    ["sendpulse.util"] = "lua/sendpulse/util.lua",
    ["sendpulse.verifier"] = "lua/sendpulse/verifier.lua",
    ["sendpulse.viber"] = "lua/sendpulse/viber.lua",
    ["sendpulse.webhooks"] = "lua/sendpulse/webhooks.lua",
  },
  install = {
    bin = { sendpulse = "bin/sendpulse" },
  },
}
-- `luarocks test` (offline on Debian: LUAROCKS_CONFIG=rockspec/config-offline.lua)
-- runs tools/luarocks-test under the configured Lua: it starts a sandbox of
-- its own, runs the suite for that Lua and stops the sandbox, or says what
-- it needs (nginx with its Lua module, openssl, busted, make and a compiler).
test_dependencies = { "busted" }
test = { type = "command", script = "tools/luarocks-test" }
