package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync/atomic"

	"github.com/tus/tusd/v2/pkg/handler"
	tushooks "github.com/tus/tusd/v2/pkg/hooks"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/lock"
)

// service is what serves the uploads: tusd's handler over the encrypted
// store, behind the policy that authenticates and routes every request.
type service struct {
	tus       *handler.Handler
	store     *store.Store
	policy    *hooks.Policy
	auth      *authSetup
	uploadDir string      // absolute
	redis     *lock.Redis // with -redis-url, else nil
}

// close releases what newService opened: the Redis client.
func (s *service) close() {
	if s.redis != nil {
		s.redis.Close()
	}
}

// handler is the chain below the base path: the policy, then tusd.
func (s *service) handler() http.Handler {
	return s.policy.Middleware(s.tus)
}

// completions hands the uploads the store completes on its own to the
// hook handler, which exists only after the store (the policy it belongs
// to reads the store).
type completions struct {
	hooks atomic.Pointer[hooks.Hooks]
}

func (c *completions) completed(ctx context.Context, info handler.FileInfo) {
	if h := c.hooks.Load(); h != nil {
		h.Completed(ctx, info)
	}
}

// newService opens the keyring and the encrypted store on the backend the
// flags select, loads the token keys, and builds the policy and tusd's
// handler with the hooks: the policy's pre-create (metadata check,
// tokens, routing, limits) always, the external hooks when configured.
func newService(ctx context.Context, cfg Config, getenv func(string) string, out *output) (_ *service, err error) {
	var done completions
	st, rl, err := openServeStore(ctx, cfg, getenv, out, done.completed)
	if err != nil {
		return nil, err
	}
	svc := &service{store: st, redis: rl}
	defer func() {
		if err != nil {
			svc.close()
		}
	}()
	var reservations hooks.Reservations // in the process
	if rl != nil {
		reservations = rl.Reservations(0)
	}
	uploadDir := absUploadDir(cfg.UploadDir)
	auth, err := setupAuth(cfg.authFlags, uploadDir, out)
	if err != nil {
		return nil, err
	}
	cors := corsConfig(cfg)
	linkKey, err := st.LinkKey()
	if err != nil {
		return nil, fmt.Errorf("download links: %w", err)
	}
	policy, err := hooks.New(hooks.Config{
		Auth:         auth.verifier,
		HomePrefix:   cfg.HomePrefix,
		GuestPrefix:  cfg.GuestPrefix,
		PublicPrefix: cfg.PublicPrefix,
		HomeMaxSize:  int64(cfg.HomeMaxSize),
		GuestMaxSize: int64(cfg.GuestMaxSize),
		Uploads:      st,
		Cors:         cors,
		Logger:       out.log,
		LinkKey:      linkKey,
		Reservations: reservations,

		EnableExperimentalProtocol: cfg.EnableExperimentalProtocol,
		MaxSize:                    cfg.MaxSize,
	})
	if err != nil {
		return nil, err
	}
	if auth.verifier != nil {
		out.startup("Routing uploads to %s/<user>/ (home tokens, max size %s) and %s/<owner>/<share>/ (guest tokens, max size %s).",
			cfg.HomePrefix, sizeLimit(cfg.HomeMaxSize), cfg.GuestPrefix, sizeLimit(cfg.GuestMaxSize))
	} else {
		out.startup("Routing uploads to %s/.", cfg.PublicPrefix)
	}

	composer := handler.NewStoreComposer()
	st.UseIn(composer)

	out.startup("Using %.2fMB as maximum size.", float64(cfg.MaxSize)/1024/1024)

	external, line, err := cfg.hookFlags.newHook(cfg.LogFormat == "json")
	if err != nil {
		return nil, err
	}
	hookHandler, events := policy.HookHandler(external, cfg.hookFlags.events(), st)
	done.hooks.Store(hookHandler)
	if external != nil {
		out.startup("%s", line)
		out.startup("Enabled hook events: %s", hookNames(cfg.hookFlags.events()))
	}
	hc := handler.Config{
		StoreComposer:                    composer,
		MaxSize:                          cfg.MaxSize,
		BasePath:                         cfg.basePath(),
		EnableExperimentalProtocol:       cfg.EnableExperimentalProtocol,
		DisableDownload:                  cfg.DisableDownload,
		DisableTermination:               cfg.DisableTermination,
		DisableConcatenation:             true,
		Cors:                             cors,
		Logger:                           out.tusdLog,
		RespectForwardedHeaders:          cfg.BehindProxy,
		UploadProgressInterval:           cfg.ProgressHooksInterval,
		GracefulRequestCompletionTimeout: cfg.RequestCompletionTimeout,
		AcquireLockTimeout:               cfg.AcquireLockTimeout,
		NetworkTimeout:                   cfg.NetworkTimeout,
	}
	h, err := tushooks.NewHandlerWithHooks(&hc, hookHandler, events)
	if err != nil {
		cfg.hookFlags.closeHooks()
		return nil, fmt.Errorf("unable to create handler: %w", err)
	}
	svc.tus, svc.policy, svc.auth, svc.uploadDir = h, policy, auth, uploadDir
	return svc, nil
}

// sizeLimit words a size flag for the startup log.
func sizeLimit(n byteSize) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d bytes", n)
}

// corsConfig is tusd's default CORS configuration adjusted by the flags, as
// tusd's CLI does it. cfg is valid, so the origin compiles.
func corsConfig(cfg Config) *handler.CorsConfig {
	c := handler.DefaultCorsConfig // a copy
	c.Disable = cfg.DisableCors
	c.AllowOrigin = regexp.MustCompile(cfg.CorsAllowOrigin)
	c.AllowCredentials = cfg.CorsAllowCredentials
	c.MaxAge = cfg.CorsMaxAge
	if cfg.CorsAllowMethods != "" {
		c.AllowMethods += ", " + cfg.CorsAllowMethods
	}
	if cfg.CorsAllowHeaders != "" {
		c.AllowHeaders += ", " + cfg.CorsAllowHeaders
	}
	if cfg.CorsExposeHeaders != "" {
		c.ExposeHeaders += ", " + cfg.CorsExposeHeaders
	}
	return &c
}
