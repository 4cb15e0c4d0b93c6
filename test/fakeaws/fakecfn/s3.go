package fakecfn

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// S3Options configure an [S3] fake.
type S3Options struct {
	// Now stamps objects and recorded calls. Default time.Now.
	Now func() time.Time
	// AccountID owns buckets that neither [S3.SetBucketOwner] nor a first
	// caller through the fakeaws router (whose account then owns it) gave an
	// owner. Default [fakecore.DefaultAccountID].
	AccountID string
	// MaxCalls bounds the call log (default [fakecore.DefaultMaxCalls]).
	MaxCalls int
}

// S3 is an in-memory fake of S3's PutObject, GetObject and HeadObject, enough
// to upload a template and hand CloudFormation its TemplateURL. Buckets spring
// into existence on first use. It is an [http.Handler]; its embedded
// [fakecore.CallLog] records every call under service "s3" with the actions
// PutObject, GetObject, HeadObject, CreateBucket and HeadBucket and the
// parameters Bucket, Key, ContentType, Size and Chunked.
type S3 struct {
	*fakecore.CallLog

	opts    S3Options
	faults  fakecore.Faults
	mu      sync.Mutex
	objects map[string]s3Object // "bucket/key"
	owners  map[string]string   // bucket -> owning account
}

type s3Object struct {
	data        []byte
	contentType string
	modified    time.Time
}

// S3Put is one recorded PutObject.
type S3Put struct {
	Bucket, Key string
	Size        int
	ContentType string
	CallerARN   string
	// Chunked is true when the body came aws-chunked (streaming SigV4 or
	// trailing checksums) and had to be decoded.
	Chunked bool
	Time    time.Time
}

// NewS3 returns an empty S3 fake.
func NewS3(optFns ...func(*S3Options)) *S3 {
	var o S3Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AccountID == "" {
		o.AccountID = fakecore.DefaultAccountID
	}
	return &S3{CallLog: fakecore.NewCallLog(o.MaxCalls), opts: o, objects: map[string]s3Object{}, owners: map[string]string{}}
}

// SetBucketOwner makes account the owner of bucket, for PutObject's
// x-amz-expected-bucket-owner check.
func (s *S3) SetBucketOwner(bucket, account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners[bucket] = account
}

// claimBucket gives a bucket without an owner to account, when known:
// buckets spring into existence in the account of their first user.
func (s *S3) claimBucket(bucket, account string) {
	if account == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.owners[bucket]; !ok {
		s.owners[bucket] = account
	}
}

func (s *S3) bucketOwner(bucket string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.owners[bucket]; ok {
		return o
	}
	return s.opts.AccountID
}

// InjectFault queues f for the next calls of action (PutObject, GetObject,
// HeadObject or [fakecore.AnyAction]).
func (s *S3) InjectFault(action string, f fakecore.Fault) { s.faults.Inject(action, f) }

// PutObject stores data directly, for seeding.
func (s *S3) PutObject(bucket, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[bucket+"/"+key] = s3Object{data: bytes.Clone(data), modified: s.opts.Now()}
}

// Object returns a stored object's bytes.
func (s *S3) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[bucket+"/"+key]
	return bytes.Clone(o.data), ok
}

// Puts returns the successful PutObject calls still in the call log, oldest
// first, typed.
func (s *S3) Puts() []S3Put {
	var out []S3Put
	for _, c := range s.CallsTo("s3", "PutObject") {
		if c.Status != http.StatusOK {
			continue
		}
		size, _ := strconv.Atoi(c.Param("Size"))
		chunked, _ := strconv.ParseBool(c.Param("Chunked"))
		out = append(out, S3Put{Bucket: c.Param("Bucket"), Key: c.Param("Key"), Size: size,
			ContentType: c.Param("ContentType"), CallerARN: c.CallerARN, Chunked: chunked, Time: c.Time})
	}
	return out
}

// splitS3 finds bucket and key in virtual-hosted (BUCKET.s3[.-]REGION.amazonaws.com,
// BUCKET.localhost) or path-style (any other host) addressing.
func splitS3(host, path string) (bucket, key string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path = strings.TrimPrefix(path, "/")
	if i := strings.Index(host, ".s3."); i > 0 {
		return host[:i], path
	}
	if i := strings.Index(host, ".s3-"); i > 0 {
		return host[:i], path
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg, key string) {
	fakecore.WriteRESTError(w, r, &fakecore.APIError{Status: status, Code: code, Message: msg}, key, newUUID())
}

// ServeHTTP answers PutObject, GetObject, HeadObject and CreateBucket.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rawPath := r.URL.EscapedPath()
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		path = r.URL.Path
	}
	bucket, key := splitS3(r.Host, path)
	caller := r.Header.Get(fakecore.HeaderCallerARN)
	if caller == "" {
		caller = AnonymousCaller
	}
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	w = rw
	rec := s.Record(fakecore.Call{Service: "s3", Action: s3Action(r.Method, key), Method: r.Method, CallerARN: caller,
		Account: r.Header.Get(fakecore.HeaderAccount), Time: s.opts.Now(),
		Params: url.Values{"Bucket": {bucket}, "Key": {key}, "ContentType": {r.Header.Get("Content-Type")}}})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()
	if f, ok := s.faults.Next(s3Action(r.Method, key)); ok &&
		f.Serve(w, r, nil, func(w http.ResponseWriter, e *fakecore.APIError) { fakecore.WriteRESTError(w, r, e, key, newUUID()) }) {
		return
	}
	if bucket == "" {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: bucket listing is not supported", "")
		return
	}
	if key == "" {
		if r.Method == http.MethodPut || r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK) // CreateBucket / HeadBucket: buckets always exist
			return
		}
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: bucket operations are not supported", "")
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.put(w, r, bucket, key, rec)
	case http.MethodGet, http.MethodHead:
		s.get(w, r, bucket, key)
	default:
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: "+r.Method+" is not supported", key)
	}
}

// s3Action names the call for the log and for faults.
func s3Action(method, key string) string {
	switch {
	case key == "" && method == http.MethodPut:
		return "CreateBucket"
	case key == "" && method == http.MethodHead:
		return "HeadBucket"
	case method == http.MethodPut:
		return "PutObject"
	case method == http.MethodGet:
		return "GetObject"
	case method == http.MethodHead:
		return "HeadObject"
	}
	return method
}

func (s *S3) put(w http.ResponseWriter, r *http.Request, bucket, key string, rec *fakecore.Entry) {
	s.claimBucket(bucket, r.Header.Get(fakecore.HeaderAccount))
	// S3 checks the owner before it reads the body.
	if want := r.Header.Get("X-Amz-Expected-Bucket-Owner"); want != "" && want != s.bucketOwner(bucket) {
		writeS3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied", "")
		return
	}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "fakecfn: CopyObject is not supported", key)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", err.Error(), key)
		return
	}
	data := raw
	chunked := strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	var trailers http.Header
	if chunked {
		data, trailers, err = decodeAWSChunked(raw)
		if err != nil {
			writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "decoding aws-chunked body: "+err.Error(), key)
			return
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if n, err := strconv.Atoi(dl); err == nil && n != len(data) {
				writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", fmt.Sprintf("decoded %d bytes, header says %d", len(data), n), key)
				return
			}
		}
	}
	if err := verifyChecksums(data, r.Header, trailers); err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "BadDigest", err.Error(), key)
		return
	}
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	rec.SetParams("Size", strconv.Itoa(len(data)), "Chunked", strconv.FormatBool(chunked))
	s.mu.Lock()
	s.objects[bucket+"/"+key] = s3Object{data: data, contentType: r.Header.Get("Content-Type"), modified: s.opts.Now()}
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("x-amz-request-id", newUUID())
	w.WriteHeader(http.StatusOK)
}

func (s *S3) get(w http.ResponseWriter, r *http.Request, bucket, key string) {
	s.mu.Lock()
	o, ok := s.objects[bucket+"/"+key]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	sum := md5.Sum(o.data)
	ct := o.contentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
	w.Header().Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(o.data)
	}
}

// decodeAWSChunked decodes "hex-size[;chunk-signature=...]\r\ndata\r\n" chunks,
// ending with a zero-size chunk and optional trailers (trailing checksums).
func decodeAWSChunked(body []byte) ([]byte, http.Header, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	var out bytes.Buffer
	for range len(body) + 1 { // each chunk consumes at least one byte
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("reading chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if size == 0 {
			return out.Bytes(), readTrailers(br), nil
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, nil, fmt.Errorf("reading chunk data: %w", err)
		}
		crlf := make([]byte, 2)
		if _, err := io.ReadFull(br, crlf); err != nil || string(crlf) != "\r\n" {
			return nil, nil, errors.New("chunk data not followed by CRLF")
		}
	}
	return nil, nil, errors.New("too many chunks")
}

// readTrailers reads "name:value" lines up to a blank line or the end.
func readTrailers(br *bufio.Reader) http.Header {
	h := http.Header{}
	for range 64 {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if name, value, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if err != nil || line == "" {
			break
		}
	}
	return h
}

// checksummers are the flexible checksums the fake can verify (not CRC64NVME).
var checksummers = map[string]func([]byte) []byte{
	"X-Amz-Checksum-Crc32": func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) },
	"X-Amz-Checksum-Crc32c": func(b []byte) []byte {
		return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	},
	"X-Amz-Checksum-Sha1":   func(b []byte) []byte { s := sha1.Sum(b); return s[:] },
	"X-Amz-Checksum-Sha256": func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
}

// verifyChecksums checks x-amz-checksum-* headers or trailers against data.
func verifyChecksums(data []byte, hs ...http.Header) error {
	for _, h := range hs {
		for name, sum := range checksummers {
			want := h.Get(name)
			if want == "" {
				continue
			}
			if got := base64.StdEncoding.EncodeToString(sum(data)); got != want {
				return fmt.Errorf("the %s you specified did not match the calculated checksum", strings.ToLower(name))
			}
		}
	}
	return nil
}
