# confiture -- PostgreSQL migration toolkit.
#
#   make deps              install the Debian packages (as root, or with sudo)
#   make                   build ./confiture, libconfiture.a, libconfiture.so
#   make test              run every test against a throwaway cluster
#   make test SAN=1        the same under AddressSanitizer and UBSan
#   make test VALGRIND=1   the same under valgrind memcheck
#   make fuzz              build the libFuzzer targets (clang); FUZZ_TIME=600 runs each
#   make install PREFIX=/usr/local
#   make demo              deps, build, then init and build a sample database

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
SAN       ?= 0
VALGRIND  ?= 0

ifeq ($(SAN),1)
BUILD     := build/san
OPT       ?= -O1 -g
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD     := build/rel
OPT       ?= -O2 -g
SANFLAGS  :=
endif

# The libraries' flags are asked of pkg-config when a recipe first needs
# them, not when the Makefile is read: on a fresh machine `make deps` (a
# prerequisite of demo and test) installs pkg-config and the libraries first.
PKGS        := libpq yaml-0.1 libsodium libcrypto
PKG_CFLAGS   = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS     = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)

CPPFLAGS += -Iinclude -Isrc/core -Isrc -I$(BUILD)/gen -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS   += -std=c11 -Wall -Wextra -Werror -fPIC -pthread $(OPT) $(SANFLAGS)
LDFLAGS  += -pthread $(SANFLAGS)
LDLIBS   += -lpg_query $(PKG_LIBS) -ldl -lm

LIB_SRC  := $(sort $(wildcard src/core/*.c src/schema/*.c src/build/*.c src/migrate/*.c src/sync/*.c \
                              src/s2s/*.c src/lint/*.c src/check/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
SQL_SRC  := $(sort $(wildcard sql/*.sql))
TPL_SRC  := $(sort $(shell find db -type f ! -path 'db/generated/*' 2>/dev/null))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/sql_embed.o $(BUILD)/gen/template_embed.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
INTG_SRC := $(sort $(wildcard tests/integration/test_*.c))
TEST_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%) $(INTG_SRC:tests/%.c=$(BUILD)/tests/%)

# The Debian packages the project needs to build, test and benchmark: every
# tool the tests call is here (groff and man-db for the man page, zsh and fish
# for the completions, python3-jsonschema for the JSON Schemas).
DEB_PKGS := gcc make pkg-config valgrind libpq-dev libpg-query-dev libprotobuf-c-dev libssl-dev \
            libyaml-dev libsodium-dev postgresql-15 postgresql-client-15 jq \
            groff man-db zsh fish python3-jsonschema binutils

.PHONY: all deps test test-run install uninstall clean demo demo-run tests-bin
all: confiture libconfiture.a libconfiture.so

ifeq ($(SAN),1)
# Sanitized builds stay under build/san and never replace ./confiture.
confiture libconfiture.a libconfiture.so: $(BUILD)/confiture $(BUILD)/libconfiture.a
else
confiture: $(BUILD)/confiture
	cp $< $@
libconfiture.a: $(BUILD)/libconfiture.a
	cp $< $@
libconfiture.so: $(BUILD)/libconfiture.so.$(VERSION)
	cp $< libconfiture.so.$(VERSION)
	ln -sf libconfiture.so.$(VERSION) libconfiture.so.$(SOVERSION)
	ln -sf libconfiture.so.$(SOVERSION) $@
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/sql_embed.c $(BUILD)/gen/sql_embed.h &: $(SQL_SRC) sql/embed.sh
	@mkdir -p $(BUILD)/gen
	sh sql/embed.sh sql $(BUILD)/gen $(SQL_SRC)

# The `init` template is the sample project in db/.
$(BUILD)/gen/template_embed.c: $(TPL_SRC) sql/embed.sh
	@mkdir -p $(BUILD)/gen
	sh sql/embed.sh tree $(BUILD)/gen $(TPL_SRC)

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Everything may include the generated header.
$(LIB_OBJ) $(CLI_OBJ): | $(BUILD)/gen/sql_embed.h

$(BUILD)/libconfiture.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# The shared library exports the functions declared in confiture.h, nothing else.
$(BUILD)/exports.map: include/confiture.h
	@mkdir -p $(BUILD)
	{ echo '{ global:'; grep -o 'cf_[a-z0-9_]*(' $< | sort -u | sed 's/($$/;/'; \
	  echo 'local: *; };'; } >$@

$(BUILD)/libconfiture.so.$(VERSION): $(LIB_OBJ) $(BUILD)/exports.map
	$(CC) -shared -Wl,-soname,libconfiture.so.$(SOVERSION) \
		-Wl,--version-script=$(BUILD)/exports.map $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/confiture: $(CLI_OBJ) $(BUILD)/libconfiture.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libconfiture.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/unit/t.h tests/integration/itest.h $(BUILD)/libconfiture.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests -Itests/unit $(CFLAGS) -o $@ $< $(BUILD)/libconfiture.a $(LDFLAGS) $(LDLIBS)

tests-bin: $(TEST_BIN)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing:" $$missing; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# demo and test install what is missing first, then build in a make of their
# own, so that nothing of the build is decided before the packages are there.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all tests-bin fuzz-if-clang
	CONFITURE_BIN=$(CURDIR)/$(BUILD)/confiture TEST_BIN_DIR=$(CURDIR)/$(BUILD)/tests SAN=$(SAN) \
		VALGRIND=$(VALGRIND) \
		bash tests/run $(TESTS)

# ---- Fuzzing: clang's libFuzzer under ASan and UBSan (fuzz/README.md) --------
# Each fuzz/fuzz_NAME.c becomes build/fuzz/fuzz_NAME, linked against a clang
# build of the library in build/fuzz. `make fuzz FUZZ_TIME=S` then runs each
# target for S seconds, one after the other, niced. make test only runs each
# one over its seed corpus (tests/e2e/test_fuzz_corpus.sh), when clang is here.
FUZZ_TIME     ?= 0
FUZZ_BUILD    := build/fuzz
FUZZ_SAN      := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined
FUZZ_TARGETS  := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_DEB_PKGS := clang libclang-rt-14-dev

.PHONY: fuzz fuzz-bins fuzz-deps fuzz-if-clang
fuzz: fuzz-deps fuzz-bins
	@if [ "$(FUZZ_TIME)" -gt 0 ]; then bash fuzz/run $(FUZZ_TIME) $(FUZZ_TARGETS); fi

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_DEB_PKGS)"

fuzz-bins:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g" \
		SANFLAGS="$(FUZZ_SAN)" $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

fuzz-if-clang:
	@t=$$(mktemp); if printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' | \
		clang -fsanitize=fuzzer -x c - -o $$t >/dev/null 2>&1; then rm -f $$t; \
		$(MAKE) --no-print-directory fuzz-bins; \
	else rm -f $$t; echo "no clang with libFuzzer: the fuzz corpus test will skip"; fi

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(BUILD)/libconfiture.a
	$(CC) $(CPPFLAGS) -Ifuzz $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libconfiture.a \
		$(LDFLAGS) $(LDLIBS)

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	@if [ -d demo-project ]; then cd demo-project && ../confiture -q embedded destroy >/dev/null; fi
	rm -rf demo-project
	./confiture init demo-project
	cd demo-project && ../confiture migrate up && ../confiture seed apply && \
		../confiture migrate status && ../confiture check
	psql -X -d "$$(cd demo-project && ../confiture embedded url)" \
		-c 'SELECT full_name, published_posts FROM author_stats ORDER BY 1'
	@echo "demo-project/ is ready: cd demo-project && ../confiture doctor"
	@echo "To type confiture anywhere (the README's tour does): make install PREFIX=~/.local"
	@echo "and put ~/.local/bin on your PATH (export PATH=\"\$$HOME/.local/bin:\$$PATH\")."

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 confiture $(DESTDIR)$(PREFIX)/bin/confiture
	install -m 644 libconfiture.a $(DESTDIR)$(PREFIX)/lib/libconfiture.a
	install -m 755 libconfiture.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libconfiture.so.$(VERSION)
	ln -sf libconfiture.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libconfiture.so.$(SOVERSION)
	ln -sf libconfiture.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libconfiture.so
	install -m 644 include/confiture.h $(DESTDIR)$(PREFIX)/include/confiture.h
	install -m 644 docs/confiture.1 $(DESTDIR)$(PREFIX)/share/man/man1/confiture.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	./confiture completion bash >$(DESTDIR)$(PREFIX)/share/bash-completion/completions/confiture
	./confiture completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_confiture
	./confiture completion fish >$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/confiture.fish
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|-lpg_query $(PKG_LIBS) -ldl -lm -pthread|g' confiture.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/confiture.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/confiture $(DESTDIR)$(PREFIX)/lib/libconfiture.* \
		$(DESTDIR)$(PREFIX)/include/confiture.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/confiture.pc \
		$(DESTDIR)$(PREFIX)/share/man/man1/confiture.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/confiture \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_confiture \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/confiture.fish

clean:
	rm -rf build confiture libconfiture.a libconfiture.so libconfiture.so.*

-include $(DEPS)
