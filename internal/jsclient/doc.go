// Package jsclient checks tusvault against tus-js-client, the tus client
// of browsers and Node, in its Node build. upload.js (an npm project of
// its own: package.json and package-lock.json beside it, tus-js-client
// 4.3.1 its only dependency) uploads a file to the real binary with the
// bearer token of the embedded default's startup link. Its first Upload
// sends 2 MiB chunks slowed to 16 MiB/s, and the Go test SIGKILLs the
// server while a PATCH streams, once 6 MiB were acknowledged (a part
// stored, more in the encrypted tail), then restarts it on the same port
// and upload directory. A second Upload finds the upload in the
// tus.FileUrlStorage both share (findPreviousUploads, by the file's
// fingerprint), resumes it (resumeFromPreviousUpload) at no less than the
// acknowledged offset, and the test checks that the stored upload is the
// file, byte for byte, by GET and by tusvault decrypt. It runs in tus 1.0
// and in the IETF draft (protocol 'ietf-draft-05' against
// -enable-experimental-protocol).
//
// The test needs node and the installed packages (npm ci --prefix
// internal/jsclient, which make test runs): without them it fails in CI
// (env CI set) with the command to run, and is skipped elsewhere.
package jsclient
