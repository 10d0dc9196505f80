// Command parse_certs reads X.509 certificates with Go's crypto/x509, an implementation
// independent of the one TradeAccord is written with, and prints one JSON line per PEM file:
// its subject, extended key usages, and whether it chains to the first file (the root).
// A certificate Go cannot parse prints the error instead. Run by test_go_x509.py.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

type report struct {
	File        string   `json:"file"`
	Subject     string   `json:"subject,omitempty"`
	ExtKeyUsage []string `json:"extKeyUsage"`
	Verified    bool     `json:"verified"`
	Error       string   `json:"error,omitempty"`
}

var usageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageServerAuth: "serverAuth",
	x509.ExtKeyUsageClientAuth: "clientAuth",
}

func load(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func describe(path string, roots *x509.CertPool) report {
	r := report{File: path, ExtKeyUsage: []string{}}
	cert, err := load(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Subject = cert.Subject.String()
	for _, usage := range cert.ExtKeyUsage {
		name, known := usageNames[usage]
		if !known {
			name = fmt.Sprintf("ExtKeyUsage(%d)", usage)
		}
		r.ExtKeyUsage = append(r.ExtKeyUsage, name)
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		r.ExtKeyUsage = append(r.ExtKeyUsage, oid.String())
	}
	// Our extended key usages are our own: any usage is acceptable to the chain check.
	options := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := cert.Verify(options); err != nil {
		r.Error = err.Error()
	} else {
		r.Verified = true
	}
	return r
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: parse_certs ROOT.pem [CERT.pem ...]")
		os.Exit(2)
	}
	roots := x509.NewCertPool()
	if root, err := load(os.Args[1]); err == nil {
		roots.AddCert(root)
	}
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		if err := out.Encode(describe(path, roots)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
