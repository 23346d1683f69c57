# SunOye. `make test` is the test command CI runs (.ci/run).
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
export GO
# The version builds carry (`sunoye version`): packaging/version says how.
VERSION ?= $(shell packaging/version)
export VERSION
# Dates inside the packages (man pages, file times): the last commit's.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
# WEBKIT=4.1 builds the window against webkit2gtk-4.1 (Debian 13, Ubuntu
# 24.04, which have no 4.0): the build tag webkit41 (chatview/window).
WEBKIT ?= 4.0
ifeq ($(WEBKIT),4.1)
TAGS = -tags webkit41
endif

.PHONY: build up test bench vet fmt dist dist-deb windows dist-windows

# sunoye (daemon and CLI), sunoye-window (the chat windows; links WebKit) and
# sunoye-strength (estimates chosen passwords)
# go side by side: the daemon runs the programs found beside it.
build:
	$(GO) build $(TAGS) -ldflags "-X main.buildVersion=$(VERSION)" -o bin/ ./cmd/sunoye ./cmd/sunoye-window ./cmd/sunoye-strength

# Release artifacts in dist/ (README, Install).
dist: dist-deb dist-windows

# dist/sunoye_VERSION+webkit40-1_amd64.deb (Debian 12, Ubuntu 22.04) and
# …+webkit41-1_amd64.deb (Debian 13, Ubuntu 24.04): packaging/deb.
dist-deb:
	packaging/deb 4.0 4.1

# Start SunOye on its embedded defaults (broker on 127.0.0.1:1883,
# registry in ~/.local/state/sunoye).
up: build
	bin/sunoye up

# The builds without cgo and for Windows (the browser instead of the
# webview window) must keep compiling; the tests need the real parts.
test:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build -tags nowebview ./...
	GOOS=darwin CGO_ENABLED=0 $(GO) build ./...
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks compare against baselines in the same run (raw Paho and the
# original Python stack over the same broker, a daemon without rooms, headless
# Chromium); docs/performance.md quotes their medians, with the command for
# each figure. The daemon-scale benchmark alone takes about 20 minutes.
# Summarise with: go run golang.org/x/perf/cmd/benchstat@latest bench.txt
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 90m ./... | tee bench.txt

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# Windows, cross-built with Debian's mingw-w64 (gcc-mingw-w64-x86-64,
# g++-mingw-w64-x86-64): sunoye.exe, and sunoye-window.exe showing the chat
# in WebView2 through webview_go. internal/winbuild supplies the
# EventToken.h that WebView2.h includes (mingw ships eventtoken.h). The
# window is a GUI program (-H windowsgui): no console opens with it.
WINBIN ?= bin/windows
WINDOWS_ENV = CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
	CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ \
	CGO_CXXFLAGS="-I$(CURDIR)/internal/winbuild"
windows:
	$(WINDOWS_ENV) $(GO) build -trimpath -ldflags "-X main.buildVersion=$(VERSION)" -o $(WINBIN)/sunoye.exe ./cmd/sunoye
	$(WINDOWS_ENV) $(GO) build -trimpath -ldflags "-H windowsgui" -o $(WINBIN)/sunoye-window.exe ./cmd/sunoye-window

# dist/sunoye-VERSION-windows-amd64.zip: the two programs, side by side as
# the daemon expects them.
dist-windows: windows
	mkdir -p dist
	rm -f dist/sunoye-$(VERSION)-windows-amd64.zip
	cd $(WINBIN) && python3 -m zipfile -c $(CURDIR)/dist/sunoye-$(VERSION)-windows-amd64.zip sunoye.exe sunoye-window.exe
