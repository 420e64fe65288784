#!/bin/sh
# Entry point of Lethe's container images. Secrets arrive as files (Docker/Compose
# `secrets:`, Kubernetes secret volumes) rather than in the environment or the image:
# for each NAME below, NAME_FILE=/path sets NAME to the file's content (trailing newlines
# dropped) before the command runs. lethectl reads LETHE_TOKEN_FILE itself.
set -eu

for name in PGPASSWORD LETHE_DATABASE_URL LETHE_SUBJECT_SALT; do
  file_var="${name}_FILE"
  eval "file=\${$file_var:-}"
  [ -n "$file" ] || continue
  eval "already=\${$name:-}"
  if [ -n "$already" ]; then
    echo "lethe-entrypoint: both $name and $file_var are set; set only one" >&2
    exit 2
  fi
  if [ ! -r "$file" ]; then
    echo "lethe-entrypoint: $file_var=$file is not a readable file" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "$file_var"
done

if [ "$#" -eq 0 ]; then
  echo "lethe-entrypoint: no command given" >&2
  exit 2
fi
exec "$@"
