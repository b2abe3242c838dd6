# Shared by the scripts in this folder: section headers, failing with a message, timing.
# Source it; do not run it.

# The repository root, whatever the caller's working directory.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO

_section_name=""
_section_start=0

# Ends the current section (printing its duration) and starts a new one: `section "UI tests"`.
section() {
  end_section
  _section_name="$1"
  _section_start=$SECONDS
  printf '\n\033[1m==> %s\033[0m\n' "$1"
}

# Prints how long the current section took.
end_section() {
  if [[ -n "$_section_name" ]]; then
    printf '\033[2m--- %s: %ss\033[0m\n' "$_section_name" "$((SECONDS - _section_start))"
    _section_name=""
  fi
}

# Stops the script with a message on stderr.
die() {
  printf '\033[31merror:\033[0m %s\n' "$*" >&2
  exit 1
}

# Names the section that failed when a command under `set -e` stops the script.
trap 'status=$?; if [[ $status -ne 0 && -n "$_section_name" ]]; then printf "\n\033[31mFAILED in section: %s (exit %s)\033[0m\n" "$_section_name" "$status" >&2; fi' EXIT
