#!/bin/sh
# Packages installed in a container must not try to start services.
exit 101
