# Stand-in for nginx:1.x on trixie: Debian's nginx, logs to stdout/stderr, config in
# /etc/nginx/conf.d as in the official image.
FROM loupe-offline/debian:trixie
RUN apt-get update && apt-get install -y nginx && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
