#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with a fake camera (a real face) and a fake
# microphone (espeak-ng speech, converted by sox); the production-shape drill runs Debian's nginx
# in front of two daphne processes. The audio tests and bench/eval_audio.py use real human
# voices and music from Debian packages (proctoring/tests/real_voices.py; about 100 MB to
# download, 122 MB installed, 63 MB of it KTuberling's words). Install whichever is missing.
set -euo pipefail
missing=()
voices=(asterisk-core-sounds-en-g722 asterisk-core-sounds-fr-g722 asterisk-core-sounds-it-g722
  asterisk-core-sounds-ru-g722 asterisk-moh-opsound-g722 asterisk-prompt-fr-armelle ktuberling-data)
for package in "${voices[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
command -v chromium >/dev/null || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
# xgettext and msgmerge: procto/tests/test_translations.py extracts the strings to translate.
command -v xgettext >/dev/null || missing+=(gettext)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing test tools: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Not root: run 'sudo apt-get install -y ${missing[*]}' (the browser tests need them)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
