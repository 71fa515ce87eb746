// How pullcheck's API clients send a request: node:http(s) over the agent client-node set on it,
// instead of client-node's node-fetch 2. node-fetch 2 cannot use a kept-alive socket (it fails the
// previous response with "Premature close" once its socket goes to the next request), so every
// API call paid a new TLS connection with client certificates on both sides.
import { type ClientRequest, type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type HttpLibrary, Observable, type RequestContext, ResponseContext } from '@kubernetes/client-node';

/** Errors of a request whose kept-alive socket the server had closed: the request never reached it. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

export class KeepAliveHttpLibrary implements HttpLibrary {
  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(sendRequest(request));
  }
}

function requestBody(request: RequestContext): string | undefined {
  const body = request.getBody();
  if (body === undefined || typeof body === 'string') return body;
  // client-node's API calls send JSON text; form bodies are for endpoints pullcheck does not call.
  throw new Error(`${request.getHttpMethod()} ${request.getUrl()}: a ${Object.prototype.toString.call(body)} body is not supported`);
}

export function sendRequest(request: RequestContext, retryStale = true): Promise<ResponseContext> {
  const url = new URL(request.getUrl());
  const body = requestBody(request);
  const headers: Record<string, string> = { ...request.getHeaders() };
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const signal = request.getSignal();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req: ClientRequest = send(
      url,
      {
        method: request.getHttpMethod(),
        headers,
        agent: request.getAgent() as HttpAgent | undefined,
        ...(signal ? { signal: signal as AbortSignal } : {}),
      },
      (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve(
            new ResponseContext(res.statusCode ?? 0, responseHeaders, {
              text: async () => data.toString('utf8'),
              binary: async () => data,
            }),
          );
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Node's documented way: a socket kept alive can be closed by the server as the next request
      // goes out on it, before any answer; that request is sent once more on a new connection.
      if (retryStale && !answered && req.reusedSocket && STALE_SOCKET.has(error.code ?? '')) {
        resolve(sendRequest(request, false));
        return;
      }
      reject(error);
    });
    req.end(body);
  });
}
