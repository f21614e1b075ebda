#!/bin/sh
# Boot script of the web servers.
echo "starting web server"
