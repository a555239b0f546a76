# Stand-in for the trainer's base image: Debian trixie's python3-torch (PyPI is unreachable
# here) with OpenBLAS and the Fashion-MNIST dataset package.
FROM loupe-offline/debian:trixie
RUN apt-get update && apt-get install -y python3 python3-torch python3-onnx python3-numpy python3-tqdm \
      python3-matplotlib python3-pil libopenblas0 dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/* && python3 -c "import torch, onnx; print(torch.__version__)"
CMD ["python3"]
