#!/bin/sh
# make-users.sh writes the users of the udi-edge NATS cluster, the file
# nats-server.conf includes as udi-users.conf, from lines
#
#     NAME PASSWORD
#
# on its standard input: one per gateway (NAME is its gateway id) and one
# per instance of the central service (udi-central, udi-central-2, ...).
# PASSWORD is best a bcrypt hash (README.md says how to make one); a
# plain password works too. Lines starting with # and empty lines are
# skipped.
#
#     sh make-users.sh < users.txt > /etc/nats/udi-users.conf
#
# Every user may connect with MQTT only. The permissions are those of
# deploy/mosquitto/udi-acl, on NATS subjects: NATS turns the MQTT topic
# udi/v1/SITE/GATEWAY/movements into the subject
# udi.v1.SITE.GATEWAY.movements (a "." within a level becomes "//"). The
# subscribe permission on $MQTT.sub.> is NATS's own: QoS 1 messages reach
# a client through it.
set -eu

echo "# Written by deploy/nats/make-users.sh; edit its input, not this file."
echo "users: ["
n=0
while read -r name password rest; do
	case "$name" in "" | "#"*) continue ;; esac
	n=$((n + 1))
	if [ -n "$rest" ] || [ -z "$password" ]; then
		echo "make-users.sh: line $n: want NAME PASSWORD" >&2
		exit 1
	fi
	case "$name" in
	*[!A-Za-z0-9._-]* | master)
		echo "make-users.sh: line $n: bad user name \"$name\": 1 to 64 of A-Z a-z 0-9 . _ -, never master" >&2
		exit 1
		;;
	esac
	if [ ${#name} -gt 64 ]; then
		echo "make-users.sh: line $n: user name \"$name\" longer than 64 characters" >&2
		exit 1
	fi
	case "$password" in
	*'"'* | *'\'*)
		echo "make-users.sh: line $n: the password of $name holds \" or \\" >&2
		exit 1
		;;
	esac
	# The gateway id as one level of a NATS subject.
	level=$(printf '%s' "$name" | sed 's|\.|//|g')
	case "$name" in
	udi-central | udi-central-[0-9]*)
		cat <<ENTRY
  {
    user: "$name", password: "$password", allowed_connection_types: ["MQTT"]
    permissions: {
      publish: { allow: ["udi.v1.*.*.ack", "udi.v1.*.*.resend", "udi.v1.*.master.>"] }
      subscribe: { allow: ["udi.v1.*.*.movements", "udi.v1.*.*.status", "\$MQTT.sub.>"] }
    }
  }
ENTRY
		;;
	*)
		cat <<ENTRY
  {
    user: "$name", password: "$password", allowed_connection_types: ["MQTT"]
    permissions: {
      publish: { allow: ["udi.v1.*.$level.movements", "udi.v1.*.$level.status"] }
      subscribe: { allow: ["udi.v1.*.$level.ack", "udi.v1.*.$level.resend", "udi.v1.*.master", "udi.v1.*.master.>", "\$MQTT.sub.>"] }
    }
  }
ENTRY
		;;
	esac
done
echo "]"
