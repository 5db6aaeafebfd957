module github.com/tusvault/tusvault

go 1.26.8

require (
	github.com/tus/tusd/v2 v2.9.1
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8
	golang.org/x/sync v0.25.0
)

require github.com/tus/lockfile v1.2.0 // indirect
