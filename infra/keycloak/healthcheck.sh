#!/bin/bash
# Readiness of Keycloak on its management port (the image has no curl).
exec 3<>/dev/tcp/127.0.0.1/9000
printf 'GET /auth/health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
grep -q '"UP"' <&3
