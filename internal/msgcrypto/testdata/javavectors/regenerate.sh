#!/usr/bin/env bash
# Rebuilds the Java vector tool and rewrites ../java_vectors.json with vectors made by
# Pulsar 4.0.8's MessageCryptoBc for every key pair in pairs.txt. Needs JDK 17+ and Maven;
# the artifacts come from Maven Central. Usage: internal/msgcrypto/testdata/javavectors/regenerate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mvn -q -B compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
specs=()
while read -r name pub priv; do
	[[ -z "$name" || "$name" == \#* ]] && continue
	specs+=("$name:$pub:$priv")
done <pairs.txt
java -cp "target/classes:$(cat target/classpath.txt)" stargate.JavaVectors generate .. ../java_vectors.json "${specs[@]}"
