# make deb: the Debian package $(DEB_OUT)/avalanche_$(VERSION)-$(DEB_REVISION)_<arch>.deb,
# staged with `make install DESTDIR=... PREFIX=/usr`: scripts/make-deb,
# templates and maintainer scripts in packaging/debian/. Needs dpkg-dev.
#
# The packaged binary is built in $(DEB_BUILD) (default $(BUILD)/hardened)
# with Debian's hardening flags (dpkg-buildflags, hardening=+all: fortify,
# stack protector, relro, bindnow) on top of the usual -Werror ones; made
# only if out of date. DEB_BUILD=DIR packages the build in DIR as it is.
DEB_REVISION ?= 1
DEB_OUT ?= build/deb
DEB_BUILD ?= $(BUILD)/hardened
DEB_FLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get
DEB_CFLAGS = $(shell $(DEB_FLAGS) CPPFLAGS) -fstack-protector-strong -Wformat -Werror=format-security
DEB_LDFLAGS = $(shell $(DEB_FLAGS) LDFLAGS)

deb:
	@command -v dpkg-buildflags >/dev/null || { echo "make deb needs dpkg-dev" >&2; exit 2; }
	$(MAKE) --no-print-directory BUILD='$(DEB_BUILD)' EXTRA_CFLAGS='$(DEB_CFLAGS)' \
	    EXTRA_LDFLAGS='$(DEB_LDFLAGS)' '$(DEB_BUILD)/avalanche'
	BUILD='$(DEB_BUILD)' VERSION='$(VERSION)' DEB_REVISION='$(DEB_REVISION)' DEB_OUT='$(DEB_OUT)' \
	    scripts/make-deb
