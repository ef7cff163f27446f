# lua-sendpulse: developer and CI entry points.
#   make            the Lua 5.4 module (build/sendpulse/core.so)
#   make jit        the LuaJIT/OpenResty module (build-jit/sendpulse/core.so),
#                   which PUC Lua 5.1 loads too
#   make lua53      the Lua 5.3 module (build-53/sendpulse/core.so)
#   make test       install what is missing, build both, run every suite
#   make demo       examples/quickstart.lua against the local sandbox
#   make lint       luacheck
#   make test-asan / valgrind / soak / fuzz   the hardening runs
#   make bench      the performance table (BENCHMARKS.md); not part of make test
#   make docs       the HTML reference (LDoc) in build/docs
#   make sandbox / sandbox-stop   the local SendPulse-compatible server
#   make install PREFIX=... [LUA_VER=5.4|5.3|5.1]   without LuaRocks
#   make install-jit PREFIX=...   a LuaJIT/OpenResty tree and a luajit command

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
STD      := -std=gnu99
LUA_INC  ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
JIT_INC  ?= $(shell pkg-config --cflags luajit 2>/dev/null || echo -I/usr/include/luajit-2.1)
LUA53_INC ?= $(shell pkg-config --cflags lua5.3 2>/dev/null || echo -I/usr/include/lua5.3)
CURL_LIBS ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
# OpenSSL: the Redis client's TLS (csrc/redis.c)
SSL_LIBS ?= $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)

SRC := $(wildcard csrc/*.c)
HDR := $(wildcard csrc/*.h)

SANDBOX_DIR ?= build/sandbox

# What `make test` needs on a fresh Debian 12 machine.
DEB_PACKAGES := gcc make pkg-config curl openssl ca-certificates \
	lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-busted \
	luarocks lua-check nginx libnginx-mod-http-lua luajit2 \
	libluajit2-5.1-dev lua-socket lua-ldoc libssl-dev redis-server faketime \
	lua-nginx-redis lua-discount chromium lua5.1 lua5.3 liblua5.3-dev git
# Prism (the contract tests) runs on Node.js: installed from Debian only
# where no node and npm are on the PATH (a machine may have them otherwise)
NODE_PACKAGES := nodejs npm

.PHONY: all jit lua53 test demo lint lint-files deps sandbox sandbox-stop clean install install-jit \
	asan test-asan valgrind soak docs fuzz fuzz-deps fuzz-regressions bench

all: build/sendpulse/core.so

jit: build-jit/sendpulse/core.so

lua53: build-53/sendpulse/core.so

build/sendpulse/core.so: $(SRC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(STD) $(CFLAGS) $(WARN) -fPIC -shared $(LUA_INC) -o $@ $(SRC) $(CURL_LIBS) $(SSL_LIBS)

# No -llua: the symbols come from the host (luajit or nginx).
build-jit/sendpulse/core.so: $(SRC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(STD) $(CFLAGS) $(WARN) -fPIC -shared $(JIT_INC) -o $@ $(SRC) $(CURL_LIBS) $(SSL_LIBS)

# For the Lua 5.3 smoke runs (make test) and make install LUA_VER=5.3.
build-53/sendpulse/core.so: $(SRC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(STD) $(CFLAGS) $(WARN) -fPIC -shared $(LUA53_INC) -o $@ $(SRC) $(CURL_LIBS) $(SSL_LIBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build of the core.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
asan: build-asan/sendpulse/core.so
build-asan/sendpulse/core.so: $(SRC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 -g $(WARN) $(SAN_FLAGS) -fPIC -shared $(LUA_INC) -o $@ $(SRC) $(CURL_LIBS) $(SSL_LIBS)

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
	  missing="$$missing $(NODE_PACKAGES)"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing; \
	fi

test: deps all jit lua53 build/latency-proxy
	@tools/run-tests

# The Lua 5.4 suite on the sanitizer build (CI runs it too).
test-asan: deps asan
	@tools/run-tests --asan

# The Lua 5.4 suite under valgrind memcheck.
valgrind: deps all
	@tools/run-tests --valgrind

# The HTML reference (LDoc) from the Lua and C sources, in build/docs.
docs: deps
	env -u LUA_PATH -u LUA_CPATH -u LUA_INIT ldoc .
	@echo "open build/docs/index.html"

# libFuzzer on every parser and encoder of the core (spec/fuzz/README.md):
# each target for FUZZ_SECONDS; fuzz-regressions replays every input that
# once crashed.
FUZZ_SECONDS ?= 60
FUZZ_PACKAGES := clang libclang-rt-14-dev
fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FUZZ_PACKAGES)"
fuzz: deps fuzz-deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz
fuzz-regressions: deps fuzz-deps
	tools/fuzz --regressions

# The benchmark: against libcurl in C, the official Node client, batches,
# memory and pacing (bench/run; npm fetches the Node client into build/).
bench: deps all jit build/latency-proxy
	@bench/run

# The loopback proxy that puts a server far away (bench, latency spec).
build/latency-proxy: tools/latency-proxy.c
	@mkdir -p $(@D)
	$(CC) $(STD) -O2 $(WARN) -o $@ tools/latency-proxy.c

# 200,000 requests in one process against a fresh sandbox.
soak: deps all
	@SANDBOX_DIR=build/sandbox-soak; sandbox/stop $$SANDBOX_DIR >/dev/null 2>&1; \
	set -a; eval "$$(sandbox/start $$SANDBOX_DIR)"; set +a; \
	tools/soak 200000; status=$$?; sandbox/stop $$SANDBOX_DIR >/dev/null; exit $$status

demo: deps all
	@tools/run-demo

# every Lua file of the repository: the library, specs, examples, the
# sandbox, the command, the tools (Lua scripts without an extension) and
# the benchmark
LINT_FILES := lua spec examples sandbox/lua bin/sendpulse bench tools/openapi \
	tools/luarocks-test tools/load-check.lua \
	$(shell grep -l '^\#!.*lua' tools/* 2>/dev/null)
lint: deps
	luacheck -q $(LINT_FILES)
lint-files:
	@echo $(LINT_FILES)

sandbox: deps
	@sandbox/start $(SANDBOX_DIR)

sandbox-stop:
	@sandbox/stop $(SANDBOX_DIR)

# make install: the module built for LUA_VER, the Lua files and a
# `sendpulse` command run by LUA, in PREFIX/lib/lua/LUA_VER,
# PREFIX/share/lua/LUA_VER and PREFIX/bin (the layout of a LuaRocks tree).
# The module is loaded by LUA before anything is installed: a Lua this
# project has no build for, or an interpreter of another version, is refused.
#   LUA_VER=5.4  build/     (make)         LUA=lua5.4
#   LUA_VER=5.3  build-53/  (make lua53)   LUA=lua5.3
#   LUA_VER=5.1  build-jit/ (make jit)     LUA=lua5.1 (install-jit: luajit)
PREFIX  ?= /usr/local
LUA_VER ?= 5.4
BUILD_5.4 := build
BUILD_5.3 := build-53
BUILD_5.1 := build-jit
LUA ?= lua$(LUA_VER)
MODULE = $(BUILD_$(LUA_VER))/sendpulse/core.so
install:
	@if [ -z "$(BUILD_$(LUA_VER))" ]; then \
	  echo "make install: no build for Lua $(LUA_VER): LUA_VER=5.4 (the default), 5.3 or 5.1;" \
	    "for LuaJIT and OpenResty: make install-jit PREFIX=$(PREFIX)" >&2; exit 2; \
	fi
	@$(MAKE) --no-print-directory $(MODULE)
	@command -v $(LUA) >/dev/null || { echo "make install: $(LUA) not found: install it," \
	  "or name the Lua $(LUA_VER) interpreter with LUA=..." >&2; exit 2; }
	@env -u LUA_PATH -u LUA_CPATH -u LUA_INIT $(LUA) tools/load-check.lua $(LUA_VER) $(BUILD_$(LUA_VER))
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_VER)/sendpulse
	install -m 0755 $(MODULE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_VER)/sendpulse/core.so
	install -d $(DESTDIR)$(PREFIX)/share/lua/$(LUA_VER)/sendpulse
	cd lua/sendpulse && find . -name '*.lua' -exec install -D -m 0644 {} $(DESTDIR)$(PREFIX)/share/lua/$(LUA_VER)/sendpulse/{} \;
	install -d $(DESTDIR)$(PREFIX)/bin
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/sendpulse >$(DESTDIR)$(PREFIX)/bin/sendpulse
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/sendpulse

# The LuaJIT/OpenResty tree: the LuaJIT build, the Lua files, a sendpulse
# command run by luajit, and etc/lua-sendpulse/resolver.conf (the
# nameservers of /etc/resolv.conf, which nginx does not read) for the
# `include` in examples/openresty/nginx.conf.
install-jit:
	@$(MAKE) --no-print-directory install LUA_VER=5.1 LUA=luajit
	install -d $(DESTDIR)$(PREFIX)/etc/lua-sendpulse
	tools/nginx-resolver >$(DESTDIR)$(PREFIX)/etc/lua-sendpulse/resolver.conf
	@echo "nginx.conf, in http {}:"
	@echo '    lua_package_path "$(PREFIX)/share/lua/5.1/?.lua;$(PREFIX)/share/lua/5.1/?/init.lua;;";'
	@echo '    lua_package_cpath "$(PREFIX)/lib/lua/5.1/?.so;;";'
	@echo '    include $(PREFIX)/etc/lua-sendpulse/resolver.conf;'

clean:
	rm -rf build build-jit build-53 build-asan
