# step "what": prints the previous step's cost (seconds since it began, and
# the disk space left), then the new step's heading. Sourced by scripts/test
# and scripts/security-check, so every step of a run shows what it cost.
_step_start=$SECONDS
step() {
  printf '\033[2m    (%d s; %s free)\033[0m\n' "$((SECONDS - _step_start))" \
    "$(df -h --output=avail . | tail -n 1 | tr -d ' ')"
  _step_start=$SECONDS
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}
