#!/bin/bash
PS4='+${EPOCHREALTIME} ${FUNCNAME[0]:-main} '
set -x
. "$@"
