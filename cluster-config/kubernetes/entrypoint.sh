#!/bin/sh
# The container's entrypoint in the fedactors StatefulSet (see statefulset.yaml): one `fedactors node` per pod, its
# roles from the pod's ordinal (the N of POD_NAME fedactors-N): pods 0 .. COORDINATORS-1 run coordinator,worker (the
# first to start hosts the round coordinator, the others stand by to take the run over), the rest run worker.
# Environment: POD_NAME and POD_IP (the downward API), FEDACTORS_CLUSTER_SECRET (a Secret), and optionally EXPERIMENT
# (default /etc/fedactors/experiment.conf), COORDINATORS (default 2), PORT (remoting, default 4053), TRANSFER_PORT
# (default 4054), RUN_ID (default: derived from the experiment, so a restarted pod continues the same run),
# FEDACTORS (the executable, default /app/fedactors). Arguments are passed on to `fedactors node`.
set -eu
: "${POD_NAME:?POD_NAME is not set: give it the pod name (fieldRef metadata.name)}"
: "${POD_IP:?POD_IP is not set: give it the pod IP (fieldRef status.podIP)}"
EXPERIMENT=${EXPERIMENT:-/etc/fedactors/experiment.conf}
COORDINATORS=${COORDINATORS:-2}
FEDACTORS=${FEDACTORS:-/app/fedactors}
ordinal=${POD_NAME##*-}
case $ordinal in
  '' | *[!0-9]*) echo "entrypoint: POD_NAME '$POD_NAME' does not end in -N, a StatefulSet pod's ordinal" >&2; exit 2 ;;
esac
case $COORDINATORS in
  '' | *[!0-9]*) echo "entrypoint: COORDINATORS must be a number, found '$COORDINATORS'" >&2; exit 2 ;;
esac
if [ ! -r "$EXPERIMENT" ]; then
  echo "entrypoint: EXPERIMENT '$EXPERIMENT' is not a readable file (the ConfigMap fedactors-experiment mounted?)" >&2
  exit 2
fi
if [ "$ordinal" -lt "$COORDINATORS" ]; then roles=coordinator,worker; else roles=worker; fi
if [ -n "${RUN_ID:-}" ]; then set -- --run-id "$RUN_ID" "$@"; fi
echo "entrypoint: pod $POD_NAME (ordinal $ordinal) at $POD_IP: roles $roles"
exec "$FEDACTORS" node "$EXPERIMENT" --roles "$roles" --hostname "$POD_IP" --port "${PORT:-4053}" \
  --transfer-port "${TRANSFER_PORT:-4054}" --name "$POD_NAME" "$@"
