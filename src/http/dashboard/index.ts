import path from 'node:path';
import express, { type Router } from 'express';

/** Where the dashboard's static files are: plain HTML, CSS and browser JavaScript, no build step. */
export const DASHBOARD_DIR = path.join(__dirname, 'public');

/**
 * The supervisor dashboard, served at /admin by the service itself. The page is
 * public; everything it shows comes from the admin API with the token the
 * supervisor types at login.
 */
export function createDashboardRouter(): Router {
  const router = express.Router();
  // /admin and /admin/ both open the page (the asset URLs in it are absolute).
  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(DASHBOARD_DIR, 'index.html'));
  });
  router.use(
    express.static(DASHBOARD_DIR, {
      index: 'index.html',
      redirect: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  return router;
}
