//go:build tools

// Package tools pins kwok, which runs fake nodes and fake pod lifecycles.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
