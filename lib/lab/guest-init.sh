#!/bin/busybox sh
# /init of corral's test guest: a busybox initramfs on a Debian cloud kernel (built by
# lib/lab/test-guest.ts). It loads the virtio modules, answers the startup signal with the shipped
# systemd/corral-startup-signal script, powers off on the ACPI power button, and otherwise stays up.
# Kernel command line switches:
#   corral.signal=never      never send the startup signal
#   corral.signal_delay=N    wait N seconds before sending it
#   corral.acpi=ignore       ignore the ACPI power button
#   corral.tick=1            print "corral-test-guest: tick N" on the console every second
#   corral.burn=PCT          keep PCT percent of the vCPU busy (1-100), from boot
#   corral.burn_cycle=ON/OFF burn for ON seconds, rest for OFF seconds, over and over (the guest's
#                            uptime sets the phase, so it goes on unchanged across a live migration)
#   corral.burn_after=N      start burning N seconds after boot
# The power button: the kernel's "button" driver turns it into a key press on an evdev device;
# busybox acpid runs /etc/acpi/PWRF/00000080 (poweroff), which signals PID 1 (SIGUSR2), and this
# script traps that and powers off.

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin /tmp /run
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys

say() { echo "corral-test-guest: $*"; }

signal=yes
signal_delay=0
acpi=yes
tick=0
burn=0
burn_cycle=
burn_after=0
for arg in $(cat /proc/cmdline); do
  case $arg in
    corral.signal=never) signal=no ;;
    corral.signal_delay=*) signal_delay=${arg#*=} ;;
    corral.acpi=ignore) acpi=no ;;
    corral.tick=1) tick=1 ;;
    corral.burn=*) burn=${arg#*=} ;;
    corral.burn_cycle=*) burn_cycle=${arg#*=} ;;
    corral.burn_after=*) burn_after=${arg#*=} ;;
  esac
done

for m in $(cat /lib/modules/load-order); do
  insmod "/lib/modules/$m.ko" || say "cannot load module $m"
done

poweroff_now() {
  say "power button: powering off"
  sync
  poweroff -f
}
trap poweroff_now USR2 PWR
trap '' INT TERM HUP

if [ "$acpi" = yes ]; then
  # busybox acpid maps KEY_POWER to the action PWRF/00000080 and runs that file in /etc/acpi.
  mkdir -p /etc/acpi/PWRF
  printf '#!/bin/sh\nkill -USR2 1\n' >/etc/acpi/PWRF/00000080
  chmod 755 /etc/acpi/PWRF/00000080
  acpid -c /etc/acpi -l /dev/null || say "acpid failed: the power button will be ignored"
fi

say booted

if [ "$signal" = yes ]; then
  (
    sleep "$signal_delay"
    if /usr/lib/corral/corral-startup-signal 600; then
      say "startup signal acknowledged"
    else
      say "startup signal failed"
    fi
  ) &
fi

uptime_s() {
  read -r up _rest </proc/uptime
  echo "${up%%.*}"
}

# The CPU burner: a busy loop, stopped and continued every 100 ms so that it takes PCT percent of
# the vCPU; with a cycle, on for ON seconds and off for OFF seconds. Says each change on the console.
burner() {
  (while :; do :; done) &
  spin=$!
  kill -STOP "$spin"
  on_us=$((burn * 1000))
  off_us=$(((100 - burn) * 1000))
  cycle_on=${burn_cycle%/*}
  cycle_off=${burn_cycle#*/}
  state=off
  while :; do
    want=on
    if [ -n "$burn_cycle" ]; then
      pos=$(($(uptime_s) % (cycle_on + cycle_off)))
      [ "$pos" -lt "$cycle_on" ] || want=off
    fi
    if [ "$want" != "$state" ]; then
      state=$want
      say "burn $state"
    fi
    if [ "$state" = on ]; then
      kill -CONT "$spin"
      usleep "$on_us"
      if [ "$burn" -lt 100 ]; then
        kill -STOP "$spin"
        usleep "$off_us"
      fi
    else
      kill -STOP "$spin"
      sleep 1
    fi
  done
}

case $burn in
  '' | *[!0-9]*) say "corral.burn=$burn is not a percentage: no burner"; burn=0 ;;
esac
if [ "$burn" -gt 100 ]; then burn=100; fi
if [ "$burn" -gt 0 ]; then
  case $burn_cycle in
    '' | [0-9]*/[0-9]*) ;;
    *) say "corral.burn_cycle=$burn_cycle is not ON/OFF seconds: burning all the time"; burn_cycle= ;;
  esac
  (
    sleep "$burn_after"
    burner
  ) &
fi

n=0
while :; do
  sleep 1 &
  wait $!
  n=$((n + 1))
  [ "$tick" = 1 ] && say "tick $n"
done
