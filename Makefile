# avalanche - build, test, run. Plain make, out-of-tree objects under build/.
#
#   make            build build/avalanche (optimised, -Wall -Wextra -Werror)
#   make run        install what is missing, build, run the pipeline (embedded)
#   make test       install what is missing, build, run the whole test suite
#                   (unit + integration, then again under ASan/UBSan)
#   make test-cluster  Cassandra (3 nodes) and Kafka (3 brokers) cluster tests
#                   (not in make test)
#   make asan       build build/asan/ (sanitizers)
#   make tsan       build build/tsan/ (ThreadSanitizer; serve has threads)
#   make fuzz       libFuzzer targets with clang (build/fuzz/)
#   make docs       regenerate docs/datasets.md from the dataset descriptions
#   make install    binary, man page, systemd units, example configuration and
#                   bash completion under $(DESTDIR)$(PREFIX) (default /usr/local)
#   make uninstall  remove exactly what install put there (same PREFIX, DESTDIR)
#   make deb        Debian package build/deb/avalanche_<version>-1_<arch>.deb (mk/deb.mk)

VERSION := 0.1.0
CC ?= cc
BUILD ?= build
SAN ?=
OPT ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wno-missing-field-initializers -DAV_VERSION=\"$(VERSION)\"
ifeq ($(SAN),1)
  CFLAGS_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT := -O1 -g
endif
ifeq ($(SAN),thread)
  CFLAGS_SAN := -fsanitize=thread -fno-omit-frame-pointer
  OPT := -O1 -g
endif
CFLAGS := $(CFLAGS_BASE) $(OPT) $(CFLAGS_SAN) -pthread $(EXTRA_CFLAGS)
LDFLAGS := $(CFLAGS_SAN) -pthread $(EXTRA_LDFLAGS)
LDLIBS := -lcurl -lsqlite3 -lrdkafka -lmicrohttpd -lzstd -lm

SRC := $(sort $(wildcard src/*/*.c))
LIB_SRC := $(filter-out src/cli/%,$(SRC))
CLI_SRC := $(filter src/cli/%,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all run test check test-cluster unit asan tsan deps fuzz clean format bench docs install uninstall deb

all: $(BUILD)/avalanche

$(BUILD)/avalanche: $(LIB_OBJ) $(CLI_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(LIB_OBJ) $(UNIT_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)

deps:
	@scripts/install-deps

run: deps all
	./$(BUILD)/avalanche run

unit: $(BUILD)/unit_tests
	./$(BUILD)/unit_tests

asan:
	$(MAKE) BUILD=build/asan SAN=1 build/asan/avalanche build/asan/unit_tests

tsan:
	$(MAKE) BUILD=build/tsan SAN=thread build/tsan/avalanche

# The whole suite: what README.md tells a newcomer and what CI runs.
test check:
	@scripts/install-deps --test
	@tests/run

# Cassandra on a 3-node cluster and Kafka on 3 brokers on this machine
# (~10 min, three JVMs at a time): not part of `make test`; needs what
# `make test` installs.
test-cluster: all
	@scripts/install-deps --test
	AV_SHARED="$${AV_SHARED:-$$(cd .. && pwd)/shared}" AVALANCHE_BIN=$(BUILD)/avalanche \
	    python3 tests/integration/test_cluster.py
	AV_SHARED="$${AV_SHARED:-$$(cd .. && pwd)/shared}" AVALANCHE_BIN=$(BUILD)/avalanche \
	    python3 tests/integration/test_kafka_cluster.py

fuzz:
	$(MAKE) -f tests/fuzz/Makefile

bench: all
	@bench/run

docs: all
	@scripts/gen-datasets-doc

# clang-format (Debian: clang-format) with .clang-format; FILES=... to pick
# files. src/http/region_shapes.c is generated and left alone.
FORMAT_FILES ?= $(filter-out src/http/region_shapes.c,$(SRC) $(wildcard src/*/*.h) $(UNIT_SRC))
format:
	clang-format -i $(if $(FILES),$(FILES),$(FORMAT_FILES))

# Install under $(DESTDIR)$(PREFIX); the systemd units' ExecStart names the
# installed binary, the example configuration is `avalanche help-config`.
# BUILD=DIR installs the build in DIR (remade there only if out of date).
BINDIR := $(PREFIX)/bin
MAN1DIR := $(PREFIX)/share/man/man1
UNITDIR := $(PREFIX)/lib/systemd/system
EXDOCDIR := $(PREFIX)/share/doc/avalanche
COMPDIR := $(PREFIX)/share/bash-completion/completions
UNITS := $(notdir $(wildcard contrib/systemd/*.service contrib/systemd/*.timer))

install: $(BUILD)/avalanche
	install -D -m 755 $(BUILD)/avalanche $(DESTDIR)$(BINDIR)/avalanche
	install -d $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(EXDOCDIR) $(DESTDIR)$(COMPDIR)
	gzip -9n < doc/avalanche.1 > $(DESTDIR)$(MAN1DIR)/avalanche.1.gz
	chmod 644 $(DESTDIR)$(MAN1DIR)/avalanche.1.gz
	for u in $(UNITS); do \
	    sed -E 's|^(ExecStart=)[^ ]*/avalanche |\1$(BINDIR)/avalanche |' contrib/systemd/$$u \
	        > $(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(BUILD)/avalanche help-config > $(DESTDIR)$(EXDOCDIR)/avalanche.conf.example
	chmod 644 $(DESTDIR)$(EXDOCDIR)/avalanche.conf.example
	install -m 644 contrib/bash-completion/avalanche $(DESTDIR)$(COMPDIR)/avalanche

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/avalanche $(DESTDIR)$(MAN1DIR)/avalanche.1.gz \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(DESTDIR)$(EXDOCDIR)/avalanche.conf.example $(DESTDIR)$(COMPDIR)/avalanche
	[ ! -d $(DESTDIR)$(EXDOCDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(EXDOCDIR)

clean:
	rm -rf build

include mk/deb.mk
