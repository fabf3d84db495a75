package fakedrive

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// account is a service account the fake knows.
type account struct {
	email    string
	keyID    string
	key      *rsa.PublicKey
	disabled bool
	quota    int64 // bytes in its own My Drive; -1 for no limit
}

// RSA keys are slow to make; every fake's n-th account uses the n-th key
// of this pool, so accounts of one fake never share a key.
var (
	keyPoolMu sync.Mutex
	keyPool   []*rsa.PrivateKey
)

func poolKey(n int) (*rsa.PrivateKey, error) {
	keyPoolMu.Lock()
	defer keyPoolMu.Unlock()
	for len(keyPool) <= n {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keyPool = append(keyPool, k)
	}
	return keyPool[n], nil
}

// ServiceAccount is a service account created by NewServiceAccount.
type ServiceAccount struct {
	Email string
	// KeyID is the private_key_id of its key.
	KeyID string
	// PrivateKey is the PEM private key inside JSON.
	PrivateKey string
	// JSON is the key file as the Google Cloud console hands it out: the
	// value of RCLONE_CONFIG_<NAME>_SERVICE_ACCOUNT_CREDENTIALS.
	JSON string
}

// NewServiceAccount creates a service account with a fresh RSA key, as
// "gcloud iam service-accounts keys create" would. Its JSON names the
// fake's token endpoint.
func (s *Server) NewServiceAccount(email string) ServiceAccount {
	s.t.Helper()
	s.mu.Lock()
	n := len(s.accounts)
	s.mu.Unlock()
	key, err := poolKey(n)
	if err != nil {
		s.t.Fatalf("fakedrive: generate key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		s.t.Fatalf("fakedrive: marshal key: %v", err)
	}
	id := make([]byte, 20)
	_, _ = rand.Read(id)
	sa := ServiceAccount{
		Email:      email,
		KeyID:      hex.EncodeToString(id),
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
	_, domain, _ := strings.Cut(email, "@")
	project, _, _ := strings.Cut(domain, ".")
	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              sa.KeyID,
		"private_key":                 sa.PrivateKey,
		"client_email":                email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		s.t.Fatalf("fakedrive: marshal key file: %v", err)
	}
	sa.JSON = string(b)
	s.mu.Lock()
	s.accounts[email] = &account{email: email, keyID: sa.KeyID, key: &key.PublicKey, quota: -1}
	s.mu.Unlock()
	return sa
}

// DisableAccount makes the token endpoint refuse the account, as Google
// does for a disabled or deleted service account or a deleted key.
func (s *Server) DisableAccount(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[email]; a != nil {
		a.disabled = true
	}
}

// SetQuota limits the bytes the account may keep in its own My Drive;
// 0 is what Google gives service accounts today, -1 means no limit.
func (s *Server) SetQuota(email string, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[email]; a != nil {
		a.quota = bytes
	}
}

type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token implements the JWT-bearer grant of Google's token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "Bad Request"})
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeJSON(w, http.StatusBadRequest, tokenError{"unsupported_grant_type", "Invalid grant_type: " + r.PostForm.Get("grant_type")})
		return
	}
	assertion := r.PostForm.Get("assertion")
	jwt, err := parseJWT(assertion)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "Invalid JWT: malformed assertion."})
		return
	}
	s.mu.Lock()
	claims := jwt.claims
	a := s.accounts[claims.Iss]
	s.mu.Unlock()
	switch {
	case a == nil || a.disabled:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "Invalid grant: account not found"})
		return
	case jwt.verify(a.key) != nil || jwt.header.KeyID != a.keyID:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "Invalid JWT Signature."})
		return
	case claims.Aud != s.tokenURI:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "Invalid JWT: audience is not the token endpoint."})
		return
	case time.Unix(claims.Exp, 0).Before(time.Now()) || claims.Exp-claims.Iat > 3600:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."})
		return
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/drive"):
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_scope", "Invalid OAuth scope or ID token audience provided."})
		return
	}
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	tok := "ya29.c." + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = issuedToken{email: a.email, scope: claims.Scope, expiry: time.Now().Add(time.Hour)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
}

// jwt is a JSON Web Token as Google's token endpoint reads one: an RS256
// signed header and claim set.
type jwt struct {
	header struct {
		Alg   string `json:"alg"`
		KeyID string `json:"kid"`
	}
	claims struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	signed    string // header.claims, as sent
	signature []byte
}

func parseJWT(s string) (*jwt, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errors.New("jwt: want three parts")
	}
	t := &jwt{signed: parts[0] + "." + parts[1]}
	for i, v := range []any{&t.header, &t.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, err
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	t.signature = sig
	return t, nil
}

// verify checks the RS256 signature with key.
func (t *jwt) verify(key *rsa.PublicKey) error {
	if t.header.Alg != "RS256" {
		return errors.New("jwt: not RS256")
	}
	sum := sha256.Sum256([]byte(t.signed))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], t.signature)
}

// caller returns the account a request's bearer token was issued to.
func (s *Server) caller(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || time.Now().After(t.expiry) {
		return "", false
	}
	if a := s.accounts[t.email]; a == nil || a.disabled {
		return "", false
	}
	return t.email, true
}
