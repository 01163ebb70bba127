#!/bin/busybox sh
# /init of corral's test guest: a busybox initramfs on a Debian cloud kernel (built by
# lib/lab/test-guest.ts). It loads the virtio modules, answers the startup signal with the shipped
# systemd/corral-startup-signal script, powers off on the ACPI power button, and otherwise stays up.
# Kernel command line switches:
#   corral.signal=never      never send the startup signal
#   corral.signal_delay=N    wait N seconds before sending it
#   corral.acpi=ignore       ignore the ACPI power button
#   corral.tick=1            print "corral-test-guest: tick N" on the console every second
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
for arg in $(cat /proc/cmdline); do
  case $arg in
    corral.signal=never) signal=no ;;
    corral.signal_delay=*) signal_delay=${arg#*=} ;;
    corral.acpi=ignore) acpi=no ;;
    corral.tick=1) tick=1 ;;
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

n=0
while :; do
  sleep 1 &
  wait $!
  n=$((n + 1))
  [ "$tick" = 1 ] && say "tick $n"
done
