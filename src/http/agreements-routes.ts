/**
 * The agreements' HTTP side:
 * - POST /webhooks/mercadopago: the gateway's payment notifications (signature checked;
 *   401 and nothing recorded when it fails; 200 once recorded, also on redelivery);
 * - GET /pagar/:reference?exp&sig: the debtor's signed link → the gateway's checkout for
 *   the next installment (302);
 * - GET /paz-y-salvo/:code.pdf?exp&sig: the certificate, through a signed, expiring link;
 * - GET /verificar/:code: anyone checks a certificate: validity and the masked holder only.
 * The admin side (one agreement, unmatched payments, the dashboard's figures) is in
 * src/http/admin/agreement-routes.ts.
 */
import { Router, type Request } from 'express';
import type { AgreementsService, LinkSigner } from '../agreements/index.js';

export interface AgreementsRoutesDeps {
  service: AgreementsService;
  /** Checks the debtor's signed links; without it every signed link is refused. */
  signer?: LinkSigner;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1a1f29}.ok{color:#13795b}.no{color:#b42318}</style></head><body>${body}</body></html>`;
}

const CODE = /^PYS-[A-Z2-9]{4}-[A-Z2-9]{4}$/;
const REFERENCE = /^AC-[A-Z2-9]{6}$/;

export function createAgreementsRouter(deps: AgreementsRoutesDeps): Router {
  const router = Router();
  const { service } = deps;

  router.post('/webhooks/:provider', async (req: Request<{ provider: string }>, res, next) => {
    try {
      if (!service.provider || req.params.provider !== service.provider.name) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      const outcome = await service.handleWebhook({ headers: req.headers, query: req.query as Record<string, unknown>, body: req.body });
      if (outcome.status === 'invalid') {
        res.status(401).json({ error: 'invalid_signature' });
        return;
      }
      res.status(200).json({ received: true, status: outcome.status });
    } catch (err) {
      // A failed lookup answers 500: the gateway retries the notification later.
      next(err);
    }
  });

  router.get('/pagar/gracias', (_req, res) => {
    res.type('html').send(page('Gracias', '<h1>Gracias</h1><p>Cuando la pasarela confirme su pago, lo verá reflejado en su acuerdo y le avisaremos por el chat.</p>'));
  });

  router.get('/pagar/:reference', async (req: Request<{ reference: string }>, res, next) => {
    try {
      const reference = req.params.reference.toUpperCase();
      if (!REFERENCE.test(reference) || !deps.signer?.verify(`/pagar/${reference}`, req.query.exp, req.query.sig)) {
        res.status(403).type('html').send(page('Enlace no válido', '<h1>Enlace no válido o vencido</h1><p>Pida un enlace nuevo escribiendo «¿cómo pago?» en el chat.</p>'));
        return;
      }
      const url = await service.checkoutUrl(reference);
      if (!url) {
        res.status(404).type('html').send(page('Sin pagos pendientes', '<h1>Este acuerdo no tiene pagos pendientes</h1>'));
        return;
      }
      res.redirect(302, url);
    } catch (err) {
      next(err);
    }
  });

  router.get('/paz-y-salvo/:file', async (req: Request<{ file: string }>, res, next) => {
    try {
      const code = req.params.file.replace(/\.pdf$/i, '').toUpperCase();
      if (!CODE.test(code) || !deps.signer?.verify(`/paz-y-salvo/${code}.pdf`, req.query.exp, req.query.sig)) {
        res.status(403).type('html').send(page('Enlace no válido', '<h1>Enlace no válido o vencido</h1><p>Pida su paz y salvo de nuevo por el chat.</p>'));
        return;
      }
      const pdf = await service.certificatePdf(code);
      if (!pdf) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      res.set('Content-Type', 'application/pdf');
      res.set('Content-Disposition', `inline; filename="paz-y-salvo-${code}.pdf"`);
      res.set('Cache-Control', 'private, no-store');
      res.send(Buffer.from(pdf));
    } catch (err) {
      next(err);
    }
  });

  router.get('/verificar/:code', async (req: Request<{ code: string }>, res, next) => {
    try {
      const code = req.params.code.toUpperCase();
      const c = CODE.test(code) ? await service.certificate(code) : undefined;
      const valid = Boolean(c && !c.revoked);
      const body = { code, valid, ...(c ? { holder: `${c.holderName.split(' ')[0]} — C.C. ${c.cedulaMasked}`, issued_on: c.issuedOn } : {}) };
      if (req.accepts(['html', 'json']) === 'json') {
        res.status(c ? 200 : 404).json(body);
        return;
      }
      const html = c
        ? `<h1 class="${valid ? 'ok' : 'no'}">${valid ? 'Paz y salvo válido' : 'Paz y salvo anulado'}</h1><p>Código ${escapeHtml(code)}</p><p>Titular: ${escapeHtml(body.holder ?? '')}</p><p>Expedido el ${escapeHtml(c.issuedOn)}</p>`
        : `<h1 class="no">Código no encontrado</h1><p>Revise el código ${escapeHtml(code)}.</p>`;
      res.status(c ? 200 : 404).type('html').send(page('Verificar paz y salvo', html));
    } catch (err) {
      next(err);
    }
  });

  return router;
}
